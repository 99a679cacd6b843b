package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/service"
)

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// With --auth, no page shows data before the one-time link opened a session, and the link
// opens one session only.
func TestLoginGuardsEveryPage(t *testing.T) {
	t.Parallel()
	b := setup(t, true)
	m := b.machine(t, "secret-machine", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	arn := b.start(t, m, "secret-run", `{"password":"hunter2"}`)
	b.wait(t, arn)
	anon := &http.Client{}
	for _, p := range []string{"/", "/state-machines/" + url.PathEscape(m), "/executions/" + url.PathEscape(arn),
		"/executions/" + url.PathEscape(arn) + "/live", "/functions", "/catalog", "/schedules", "/rules", "/static/../", "/static/%2e%2e/executions/" + url.PathEscape(arn)} {
		code, body := get(t, anon, b.url+p)
		if code != http.StatusUnauthorized || strings.Contains(body, "secret") || strings.Contains(body, "hunter2") {
			t.Errorf("GET %s without a session: %d, leaks data: %v", p, code, strings.Contains(body, "secret"))
		}
	}
	login := b.cons.LoginURL(b.url)
	if !strings.HasPrefix(login, b.url+"/login?token=") {
		t.Fatalf("login URL %q", login)
	}
	if code, _ := get(t, anon, b.url+"/login?token=wrong"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	jar, _ := cookiejar.New(nil)
	user := &http.Client{Jar: jar}
	code, body := get(t, user, login)
	if code != http.StatusOK || !strings.Contains(body, "secret-machine") {
		t.Fatalf("after logging in: %d %q", code, body)
	}
	if code, body := get(t, user, b.url+"/executions/"+url.PathEscape(arn)); code != http.StatusOK || !strings.Contains(body, "hunter2") {
		t.Errorf("the execution page with a session: %d", code)
	}
	jar2, _ := cookiejar.New(nil)
	if code, body := get(t, &http.Client{Jar: jar2}, login); code != http.StatusUnauthorized || strings.Contains(body, "secret") {
		t.Errorf("the link used a second time: %d", code)
	}
}

// A form posted from another site is refused: a page elsewhere cannot start executions here.
func TestCrossSiteFormRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "guarded", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	req, _ := http.NewRequest(http.MethodPost, b.url+"/state-machines/"+url.PathEscape(m)+"/executions", strings.NewReader("name=x&input=%7B%7D"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", res.StatusCode)
	}
}

// When a Parallel fails because one branch's task failed, that task is FAILED (AWS records
// it as aborted after its failure), the branch cut short is ABORTED, and the Parallel whose
// Catch took the error is CAUGHT_ERROR.
func TestParallelBranchFailureStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "branches", `{"StartAt":"Both","States":{
	 "Both":{"Type":"Parallel","Branches":[
	   {"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:gone","End":true}}},
	   {"StartAt":"Slow","States":{"Slow":{"Type":"Wait","Seconds":30,"End":true}}}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handle"}],"End":true},
	 "Handle":{"Type":"Pass","End":true}}}`)
	arn := b.start(t, m, "branch-fails", `{}`)
	b.wait(t, arn)
	_, body := get(t, http.DefaultClient, b.url+"/executions/"+url.PathEscape(arn))
	for state, want := range map[string]string{"Both": "CAUGHT_ERROR", "Work": "FAILED", "Slow": "ABORTED", "Handle": "SUCCEEDED"} {
		if !strings.Contains(body, `data-state="`+state+`"`) || !regexp.MustCompile(`data-state="`+state+`" data-type="\w+" data-status="`+want+`"`).MatchString(body) {
			t.Errorf("%s is not drawn %s", state, want)
		}
	}
}

// The state machine list filters by name; a machine's executions page by 25, newest first,
// and filter by status.
func TestListsSearchFilterAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "orders-daily", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	b.machine(t, "billing", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	for i := range 30 {
		b.start(t, m, fmt.Sprintf("run-%02d", i), `{}`)
	}
	_, body := get(t, http.DefaultClient, b.url+"/?q=ORDERS")
	if !strings.Contains(body, `data-machine="orders-daily"`) || strings.Contains(body, `data-machine="billing"`) {
		t.Errorf("searching ORDERS does not list orders-daily alone")
	}
	names := regexp.MustCompile(`data-execution="([^"]+)"`)
	_, body = get(t, http.DefaultClient, b.url+"/state-machines/"+url.PathEscape(m)+"?status=SUCCEEDED")
	first := names.FindAllStringSubmatch(body, -1)
	next := regexp.MustCompile(`href="\?status=SUCCEEDED&amp;page=([^"]+)"`).FindStringSubmatch(body)
	if len(first) != 25 || first[0][1] != "run-29" || next == nil {
		t.Fatalf("first page: %d executions, first %v, next %v", len(first), first[0], next)
	}
	_, body = get(t, http.DefaultClient, b.url+"/state-machines/"+url.PathEscape(m)+"?status=SUCCEEDED&page="+next[1])
	if second := names.FindAllStringSubmatch(body, -1); len(second) != 5 || second[4][1] != "run-00" {
		t.Errorf("second page: %v", second)
	}
	_, body = get(t, http.DefaultClient, b.url+"/state-machines/"+url.PathEscape(m)+"?status=FAILED")
	if n := len(names.FindAllStringSubmatch(body, -1)); n != 0 {
		t.Errorf("%d executions listed as FAILED, want none", n)
	}
}

// An alias has a page of its own: the definition of its version, and Start execution through
// the alias, which the execution's page then names.
func TestAliasPage(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx := context.Background()
	m := b.machine(t, "aliased", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	v, err := b.svc.PublishStateMachineVersion(ctx, m, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := b.svc.CreateStateMachineAlias(ctx, "live", "", []service.Route{{VersionArn: v.Arn, Weight: 100}})
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, http.DefaultClient, b.url+"/state-machines/"+url.PathEscape(a.Arn))
	if code != http.StatusOK || !strings.Contains(body, "Alias <strong>live</strong>") || !strings.Contains(body, `data-state="A"`) {
		t.Fatalf("alias page: %d", code)
	}
	res, err := http.PostForm(b.url+"/state-machines/"+url.PathEscape(a.Arn)+"/executions", url.Values{"name": {"via-alias"}, "input": {"{}"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "<dt>Alias</dt>") {
		t.Errorf("starting through the alias: %d, the execution's page does not name the alias", res.StatusCode)
	}
}
