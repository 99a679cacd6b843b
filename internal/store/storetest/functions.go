package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/store"
)

func createFunction(t *testing.T, s store.Store, name string) *store.Function {
	t.Helper()
	f, err := s.FunctionCreate(t.Context(), &store.FunctionCreateParams{Name: name, Config: []byte(`{"Runtime":"python3.12"}`),
		Code: []byte("zip of " + name), CodeSha256: "sha-" + name, RevisionID: name + "-r1", CreatedAt: t0})
	if err != nil {
		t.Fatalf("FunctionCreate(%s): %v", name, err)
	}
	return f
}

func testFunctions(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := createFunction(t, s, "fn")
	if f.CodeSize != int64(len("zip of fn")) || f.RevisionID != "fn-r1" || !f.CreatedAt.Equal(t0) || !f.UpdatedAt.Equal(t0) {
		t.Fatalf("FunctionCreate = %+v", f)
	}
	_, err := s.FunctionCreate(ctx, &store.FunctionCreateParams{Name: "fn", Config: []byte(`{}`), Code: []byte("x"),
		CodeSha256: "x", RevisionID: "other", CreatedAt: t0})
	wantErr(t, "creating a function twice", err, store.ErrFunctionAlreadyExists)

	got, err := s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn"})
	if err != nil || got.Code != nil || string(got.Config) != `{"Runtime":"python3.12"}` || got.CodeSha256 != "sha-fn" ||
		got.CodeSize != 9 || got.ReservedConcurrency != nil || !got.CreatedAt.Equal(t0) {
		t.Fatalf("FunctionGet without code = %+v, %v", got, err)
	}
	got, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn", WithCode: true})
	if err != nil || string(got.Code) != "zip of fn" {
		t.Fatalf("FunctionGet with code = %+v, %v", got, err)
	}
	_, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "missing"})
	wantErr(t, "getting a missing function", err, store.ErrNotFound)

	// An update without code keeps the code; one with a stale revision changes nothing.
	t1 := t0.Add(time.Minute)
	up, err := s.FunctionUpdate(ctx, &store.FunctionUpdateParams{Name: "fn", IfRevisionID: "fn-r1", RevisionID: "fn-r2",
		Config: []byte(`{"Runtime":"python3.13"}`), UpdatedAt: t1})
	if err != nil || up.RevisionID != "fn-r2" || string(up.Config) != `{"Runtime":"python3.13"}` || up.CodeSha256 != "sha-fn" ||
		up.CodeSize != 9 || !up.UpdatedAt.Equal(t1) || !up.CreatedAt.Equal(t0) {
		t.Fatalf("FunctionUpdate = %+v, %v", up, err)
	}
	_, err = s.FunctionUpdate(ctx, &store.FunctionUpdateParams{Name: "fn", IfRevisionID: "fn-r1", RevisionID: "fn-r3",
		Config: []byte(`{}`), Code: []byte("lost"), CodeSha256: "lost", UpdatedAt: t1})
	wantErr(t, "an update of a stale revision", err, store.ErrConflict)
	code := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<16) // binary, and bigger than a page
	up, err = s.FunctionUpdate(ctx, &store.FunctionUpdateParams{Name: "fn", RevisionID: "fn-r3", Config: []byte(`{"a":1}`),
		Code: code, CodeSha256: "sha-new", UpdatedAt: t1})
	if err != nil || up.CodeSha256 != "sha-new" || up.CodeSize != int64(len(code)) {
		t.Fatalf("FunctionUpdate with code = %+v, %v", up, err)
	}
	got, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn", WithCode: true})
	if err != nil || !bytes.Equal(got.Code, code) || got.RevisionID != "fn-r3" || string(got.Config) != `{"a":1}` {
		t.Fatalf("FunctionGet after update = %v (code %d bytes)", err, len(got.Code))
	}
	_, err = s.FunctionUpdate(ctx, &store.FunctionUpdateParams{Name: "missing", RevisionID: "r", Config: []byte(`{}`), UpdatedAt: t1})
	wantErr(t, "updating a missing function", err, store.ErrNotFound)

	// Reserved concurrency: set, read, removed; it leaves the revision alone.
	ten, zero := 10, 0
	if err := s.FunctionConcurrencyPut(ctx, &store.FunctionConcurrencyPutParams{Name: "fn", Reserved: &ten}); err != nil {
		t.Fatalf("FunctionConcurrencyPut: %v", err)
	}
	if got, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn"}); err != nil || got.ReservedConcurrency == nil ||
		*got.ReservedConcurrency != 10 || got.RevisionID != "fn-r3" {
		t.Fatalf("FunctionGet after FunctionConcurrencyPut = %+v, %v", got, err)
	}
	if err := s.FunctionConcurrencyPut(ctx, &store.FunctionConcurrencyPutParams{Name: "fn", Reserved: &zero}); err != nil {
		t.Fatalf("FunctionConcurrencyPut 0: %v", err)
	}
	if got, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn"}); err != nil || got.ReservedConcurrency == nil || *got.ReservedConcurrency != 0 {
		t.Fatalf("reserved concurrency 0 = %+v, %v", got, err)
	}
	if err := s.FunctionConcurrencyPut(ctx, &store.FunctionConcurrencyPutParams{Name: "fn"}); err != nil {
		t.Fatalf("FunctionConcurrencyPut nil: %v", err)
	}
	if got, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn"}); err != nil || got.ReservedConcurrency != nil {
		t.Fatalf("removed reserved concurrency = %+v, %v", got, err)
	}
	wantErr(t, "concurrency of a missing function",
		s.FunctionConcurrencyPut(ctx, &store.FunctionConcurrencyPutParams{Name: "missing", Reserved: &ten}), store.ErrNotFound)

	// Paging by name, bytewise: upper case sorts before lower case.
	for _, n := range []string{"b", "A", "c-1", "c_2"} {
		createFunction(t, s, n)
	}
	var names []string
	cursor := ""
	for {
		page, err := s.FunctionList(ctx, &store.FunctionListParams{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("FunctionList: %v", err)
		}
		for _, f := range page.Functions {
			if f.Code != nil {
				t.Fatalf("FunctionList returned code of %s", f.Name)
			}
			names = append(names, f.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(names) != "[A b c-1 c_2 fn]" {
		t.Fatalf("FunctionList = %v", names)
	}
	_, err = s.FunctionList(ctx, &store.FunctionListParams{Cursor: "not a cursor"})
	wantErr(t, "a bad cursor", err, store.ErrInvalidCursor)

	if err := s.FunctionDelete(ctx, &store.FunctionDeleteParams{Name: "fn"}); err != nil {
		t.Fatalf("FunctionDelete: %v", err)
	}
	wantErr(t, "deleting twice", s.FunctionDelete(ctx, &store.FunctionDeleteParams{Name: "fn"}), store.ErrNotFound)
	_, err = s.FunctionGet(ctx, &store.FunctionGetParams{Name: "fn"})
	wantErr(t, "a deleted function", err, store.ErrNotFound)
	createFunction(t, s, "fn") // the name is free again

	// Invalid params.
	_, err = s.FunctionCreate(ctx, &store.FunctionCreateParams{Name: "x", Config: []byte(`{}`), Code: []byte("z"), CodeSha256: "z", CreatedAt: t0})
	wantErr(t, "a function without revision", err, store.ErrInvalidParams)
	_, err = s.FunctionUpdate(ctx, &store.FunctionUpdateParams{Name: "fn", RevisionID: "r", Config: []byte(`{}`), Code: []byte("z"), UpdatedAt: t1})
	wantErr(t, "new code without digest", err, store.ErrInvalidParams)
	minus := -1
	wantErr(t, "negative concurrency", s.FunctionConcurrencyPut(ctx, &store.FunctionConcurrencyPutParams{Name: "fn", Reserved: &minus}), store.ErrInvalidParams)
}
