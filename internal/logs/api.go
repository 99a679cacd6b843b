package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs (JSON 1.1).
const TargetPrefix = "Logs_20140328."

// maxAhead is how far past its arrival an event's timestamp may be.
const maxAhead = 2 * time.Hour

// maxBody bounds a request: PutLogEvents takes at most 1 MiB of events.
const maxBody = 2 << 20

// Error is an API error as CloudWatch Logs words it.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *Error {
	return errorf("InvalidParameterException", http.StatusBadRequest, format, args...)
}

var (
	errNoGroup  = errorf("ResourceNotFoundException", http.StatusBadRequest, "The specified log group does not exist.")
	errNoStream = errorf("ResourceNotFoundException", http.StatusBadRequest, "The specified log stream does not exist.")
)

type action func(s *Service, ctx context.Context, body []byte) (any, error)

var actions = map[string]action{
	"CreateLogGroup":     (*Service).apiCreateLogGroup,
	"CreateLogStream":    (*Service).apiCreateLogStream,
	"DeleteLogGroup":     (*Service).apiDeleteLogGroup,
	"DescribeLogGroups":  (*Service).apiDescribeLogGroups,
	"DescribeLogStreams": (*Service).apiDescribeLogStreams,
	"PutLogEvents":       (*Service).apiPutLogEvents,
	"GetLogEvents":       (*Service).apiGetLogEvents,
	"FilterLogEvents":    (*Service).apiFilterLogEvents,
	"PutRetentionPolicy": (*Service).apiPutRetentionPolicy,
	"DeleteRetentionPolicy": func(s *Service, ctx context.Context, body []byte) (any, error) {
		return s.setRetention(body, false)
	},
}

// ServeHTTP implements http.Handler for the CloudWatch Logs API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, errorf("UnknownOperationException", http.StatusBadRequest, "expected POST with X-Amz-Target Logs_20140328.<Action>"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, invalid("request body could not be read or is larger than %d bytes", maxBody))
		return
	}
	out, err := s.Call(r.Context(), name, body)
	if err != nil {
		writeError(w, err.(*Error))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(out)
}

// Call runs one action (its name without the prefix) on a JSON request and returns the JSON
// response or an *Error: the API without HTTP, for callers in the same process.
func (s *Service) Call(ctx context.Context, name string, input []byte) ([]byte, error) {
	act := actions[name]
	if act == nil {
		return nil, errorf("UnknownOperationException", http.StatusBadRequest,
			"Stepline's CloudWatch Logs does not serve %s; it serves CreateLogGroup, CreateLogStream, DeleteLogGroup, DescribeLogGroups, DescribeLogStreams, PutLogEvents, GetLogEvents, FilterLogEvents, PutRetentionPolicy and DeleteRetentionPolicy", name)
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	out, err := act(s, ctx, input)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			s.o.Logger.Error("logs: internal error", "action", name, "err", err)
			ae = errorf("ServiceUnavailableException", http.StatusInternalServerError, "%s", err.Error())
		}
		return nil, ae
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, errorf("ServiceUnavailableException", http.StatusInternalServerError, "encode response: %s", err)
	}
	return b, nil
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message}) // strings always marshal
	_, _ = w.Write(b)
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("request body is not valid: %s", err)
	}
	return nil
}

// groupName is the group a request names: logGroupName, or logGroupIdentifier (a name or an
// ARN, arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]).
func groupName(name, identifier string) (string, error) {
	if name == "" {
		name = GroupFromArn(identifier)
	}
	if name == "" {
		return "", invalid("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 512 || strings.ContainsAny(name, ":*\x00") {
		return "", invalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	return name, nil
}

// GroupFromArn is the group name of a log group ARN (arn:aws:logs:…:log-group:NAME or
// NAME:*); a string that is no such ARN is taken as the name itself.
func GroupFromArn(arn string) string {
	if _, rest, ok := strings.Cut(arn, ":log-group:"); ok && strings.HasPrefix(arn, "arn:") {
		return strings.TrimSuffix(rest, ":*")
	}
	return arn
}

func (s *Service) groupArn(name string) string {
	return "arn:aws:logs:" + s.o.Region + ":" + s.o.Account + ":log-group:" + name
}

func checkStream(name string) error {
	if name == "" {
		return invalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 512 || strings.ContainsAny(name, ":*\x00") {
		return invalid("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

// existing is the group of that name, or errNoGroup (ResourceNotFoundException) when there is none.
func (s *Service) existing(name string) (*group, error) {
	g, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	if !g.exists {
		return nil, errNoGroup
	}
	return g, nil
}

type groupIn struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
}

func (s *Service) apiCreateLogGroup(_ context.Context, body []byte) (any, error) {
	var in groupIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	exists, err := s.createGroup(name)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, errorf("ResourceAlreadyExistsException", http.StatusBadRequest, "The specified log group already exists")
	}
	return struct{}{}, nil
}

func (s *Service) apiCreateLogStream(_ context.Context, body []byte) (any, error) {
	var in struct {
		groupIn
		LogStreamName string `json:"logStreamName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkStream(in.LogStreamName); err != nil {
		return nil, err
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	if g.external {
		return nil, invalid("the streams of %s are written by Stepline's %s service; PutLogEvents into it is not supported", name, strings.Split(name, "/")[1])
	}
	exists, err := s.createStream(g, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, errorf("ResourceAlreadyExistsException", http.StatusBadRequest, "The specified log stream already exists")
	}
	return struct{}{}, nil
}

func (s *Service) apiDeleteLogGroup(_ context.Context, body []byte) (any, error) {
	var in groupIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	files, err := s.streams(g)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		s.remove(f.path)
	}
	if err := os.RemoveAll(filepath.Dir(s.metaPath(name))); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return struct{}{}, nil
}

type logGroupOut struct {
	LogGroupName    string `json:"logGroupName"`
	CreationTime    int64  `json:"creationTime"`
	RetentionInDays int    `json:"retentionInDays,omitempty"`
	MetricFilters   int    `json:"metricFilterCount"`
	Arn             string `json:"arn"`
	LogGroupArn     string `json:"logGroupArn"`
	StoredBytes     int64  `json:"storedBytes"`
	LogGroupClass   string `json:"logGroupClass"`
}

func (s *Service) apiDescribeLogGroups(_ context.Context, body []byte) (any, error) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		NextToken           string `json:"nextToken"`
		Limit               int    `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	gs, err := s.groups()
	if err != nil {
		return nil, err
	}
	out := struct {
		LogGroups []logGroupOut `json:"logGroups"`
		NextToken string        `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupOut{}}
	after := decodeToken(in.NextToken)
	for _, g := range gs {
		if !strings.HasPrefix(g.name, in.LogGroupNamePrefix) || !strings.Contains(g.name, in.LogGroupNamePattern) || g.name <= after && after != "" {
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = encodeToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		var size int64
		if files, err := s.streams(g); err == nil {
			for _, f := range files {
				size += f.size
			}
		}
		out.LogGroups = append(out.LogGroups, logGroupOut{
			LogGroupName: g.name, CreationTime: g.meta.Created, RetentionInDays: g.meta.Retention,
			Arn: s.groupArn(g.name) + ":*", LogGroupArn: s.groupArn(g.name), StoredBytes: size, LogGroupClass: "STANDARD",
		})
	}
	return out, nil
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Service) describeStream(g *group, f *streamFile) (logStreamOut, error) {
	events, created, err := s.readStream(g, f)
	if err != nil {
		return logStreamOut{}, err
	}
	o := logStreamOut{LogStreamName: f.name, CreationTime: created, UploadSequenceToken: "1",
		Arn: s.groupArn(g.name) + ":log-stream:" + f.name, StoredBytes: f.size}
	for i, e := range events {
		if i == 0 || e.ts < o.FirstEventTimestamp {
			o.FirstEventTimestamp = e.ts
		}
		o.LastEventTimestamp = max(o.LastEventTimestamp, e.ts)
		o.LastIngestionTime = max(o.LastIngestionTime, e.ingest)
	}
	if o.CreationTime == 0 {
		o.CreationTime = f.mod.UnixMilli()
	}
	return o, nil
}

func (s *Service) apiDescribeLogStreams(_ context.Context, body []byte) (any, error) {
	var in struct {
		groupIn
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		NextToken           string `json:"nextToken"`
		Limit               int    `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.OrderBy == "LastEventTime" && in.LogStreamNamePrefix != "" {
		return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	files, err := s.streams(g)
	if err != nil {
		return nil, err
	}
	// Sorted and paged before any stream is read: a stream's last write is its file's
	// modification time, so only the page's streams are read for their first and last events.
	files = slices.DeleteFunc(files, func(f streamFile) bool { return !strings.HasPrefix(f.name, in.LogStreamNamePrefix) })
	if in.OrderBy == "LastEventTime" {
		slices.SortStableFunc(files, func(a, b streamFile) int { return a.mod.Compare(b.mod) })
	} else {
		slices.SortFunc(files, func(a, b streamFile) int { return strings.Compare(a.name, b.name) })
	}
	if in.Descending {
		slices.Reverse(files)
	}
	limit := in.Limit
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	from, _ := strconv.Atoi(decodeToken(in.NextToken))
	from = min(max(from, 0), len(files))
	out := struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  string         `json:"nextToken,omitempty"`
	}{}
	for i := from; i < min(from+limit, len(files)); i++ {
		o, err := s.describeStream(g, &files[i])
		if err != nil {
			return nil, err
		}
		out.LogStreams = append(out.LogStreams, o)
	}
	if from+limit < len(files) {
		out.NextToken = encodeToken(strconv.Itoa(from + limit))
	}
	if out.LogStreams == nil {
		out.LogStreams = []logStreamOut{}
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Service) apiPutLogEvents(_ context.Context, body []byte) (any, error) {
	var in struct {
		groupIn
		LogStreamName string `json:"logStreamName"`
		LogEvents     []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkStream(in.LogStreamName); err != nil {
		return nil, err
	}
	if len(in.LogEvents) == 0 || len(in.LogEvents) > 10000 {
		return nil, invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000")
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	f, err := s.stream(g, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if f == nil || g.external {
		return nil, errNoStream
	}
	now := s.o.Clock.Now()
	tooOld := now.Add(-14 * 24 * time.Hour).UnixMilli()
	if g.meta.Retention > 0 {
		tooOld = max(tooOld, now.Add(-time.Duration(g.meta.Retention)*24*time.Hour).UnixMilli())
	}
	tooNew := now.Add(maxAhead).UnixMilli()
	type rejected struct {
		TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
		TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	}
	var rej rejected
	var events []event
	var last int64
	for i, e := range in.LogEvents {
		if e.Timestamp == nil || e.Message == nil {
			return nil, invalid("1 validation error detected: Value null at 'logEvents.%d.member' failed to satisfy constraint: timestamp and message must not be null", i+1)
		}
		if *e.Timestamp < last {
			return nil, invalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
		last = *e.Timestamp
		switch {
		case *e.Timestamp < tooOld:
			i := i
			rej.TooOldLogEventEndIndex = &i
		case *e.Timestamp > tooNew:
			if rej.TooNewLogEventStartIndex == nil {
				i := i
				rej.TooNewLogEventStartIndex = &i
			}
		default:
			events = append(events, event{ts: *e.Timestamp, ingest: now.UnixMilli(), msg: *e.Message})
		}
	}
	if len(events) > 0 {
		file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		err = appendEvents(file, events)
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("logs: %w", cerr)
		}
		if err != nil {
			return nil, err
		}
	}
	out := struct {
		NextSequenceToken     string    `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejected `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: "1"}
	if rej.TooNewLogEventStartIndex != nil || rej.TooOldLogEventEndIndex != nil {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents' tokens are "f/N" and "b/N" (N an event's index in the stream, 0-padded as
// AWS's are long digit strings): forward reads from event N on, backward the events before N.
func (s *Service) apiGetLogEvents(_ context.Context, body []byte) (any, error) {
	var in struct {
		groupIn
		LogStreamName string `json:"logStreamName"`
		StartTime     *int64 `json:"startTime"`
		EndTime       *int64 `json:"endTime"`
		NextToken     string `json:"nextToken"`
		Limit         int    `json:"limit"`
		StartFromHead bool   `json:"startFromHead"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkStream(in.LogStreamName); err != nil {
		return nil, err
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	f, err := s.stream(g, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errNoStream
	}
	all, _, err := s.readStream(g, f)
	if err != nil {
		return nil, err
	}
	// Indexes of the events within the time range.
	var idx []int
	for i, e := range all {
		if (in.StartTime == nil || e.ts >= *in.StartTime) && (in.EndTime == nil || e.ts < *in.EndTime) {
			idx = append(idx, i)
		}
	}
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	// [lo, hi) is the window of idx returned.
	var lo, hi int
	switch {
	case strings.HasPrefix(in.NextToken, "f/"):
		n, err := strconv.Atoi(in.NextToken[2:])
		if err != nil {
			return nil, invalid("The specified nextToken is invalid.")
		}
		lo = firstAtLeast(idx, n)
		hi = min(lo+limit, len(idx))
	case strings.HasPrefix(in.NextToken, "b/"):
		n, err := strconv.Atoi(in.NextToken[2:])
		if err != nil {
			return nil, invalid("The specified nextToken is invalid.")
		}
		hi = firstAtLeast(idx, n)
		lo = max(hi-limit, 0)
	case in.NextToken != "":
		return nil, invalid("The specified nextToken is invalid.")
	case in.StartFromHead:
		lo, hi = 0, min(limit, len(idx))
	default:
		hi = len(idx)
		lo = max(hi-limit, 0)
	}
	out := struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{Events: []outputEvent{}}
	for _, i := range idx[lo:hi] {
		e := all[i]
		out.Events = append(out.Events, outputEvent{Timestamp: e.ts, Message: e.msg, IngestionTime: e.ingest})
	}
	// The forward token points after the window (or stays where it was when nothing more
	// came: a reader polling for new events passes it again); the backward one at its start.
	fwd, back := len(all), 0
	if hi < len(idx) {
		fwd = idx[hi]
	} else if hi > 0 {
		fwd = idx[hi-1] + 1
	} else if strings.HasPrefix(in.NextToken, "f/") {
		fwd, _ = strconv.Atoi(in.NextToken[2:])
	}
	if lo < len(idx) {
		back = idx[lo]
	}
	out.NextForwardToken = fmt.Sprintf("f/%056d", fwd)
	out.NextBackwardToken = fmt.Sprintf("b/%056d", back)
	return out, nil
}

// firstAtLeast is the position in idx of the first index ≥ n.
func firstAtLeast(idx []int, n int) int {
	i, _ := slices.BinarySearch(idx, n)
	return i
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// FilterLogEvents returns events of every stream (or those named) in timestamp order; its
// nextToken is the position of the last event returned in that order.
func (s *Service) apiFilterLogEvents(_ context.Context, body []byte) (any, error) {
	var in struct {
		groupIn
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               int      `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalid("logStreamNames and logStreamNamePrefix are mutually exclusive")
	}
	pat, err := ParseFilter(in.FilterPattern)
	if err != nil {
		return nil, invalid("Invalid filter pattern: %s", err)
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	files, err := s.streams(g)
	if err != nil {
		return nil, err
	}
	var matched []filteredEvent
	type pos struct {
		ts int64
		id string
	}
	for i := range files {
		f := &files[i]
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, f.name) || !strings.HasPrefix(f.name, in.LogStreamNamePrefix) {
			continue
		}
		// A follower (aws logs tail --follow) asks from its last event on, again and again:
		// streams last written before then hold nothing for it. An event's time is at most
		// maxAhead past its write (PutLogEvents' bound), and a Lambda or Glue line's is its
		// file's time.
		if in.StartTime != nil && f.mod.UnixMilli() < *in.StartTime-maxAhead.Milliseconds() {
			continue
		}
		events, _, err := s.readStream(g, f)
		if err != nil {
			return nil, err
		}
		for j, e := range events {
			if in.StartTime != nil && e.ts < *in.StartTime || in.EndTime != nil && e.ts > *in.EndTime || !pat.Match(e.msg) {
				continue
			}
			matched = append(matched, filteredEvent{LogStreamName: f.name, Timestamp: e.ts, Message: e.msg, IngestionTime: e.ingest,
				EventID: eventID(f.name, j)})
		}
	}
	slices.SortStableFunc(matched, func(a, b filteredEvent) int {
		if c := cmpInt(a.Timestamp, b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	if in.NextToken != "" {
		tok := decodeToken(in.NextToken)
		ts, id, ok := strings.Cut(tok, "/")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil {
			return nil, invalid("The specified nextToken is invalid.")
		}
		k, _ := slices.BinarySearchFunc(matched, pos{ts: t, id: id}, func(e filteredEvent, p pos) int {
			if c := cmpInt(e.Timestamp, p.ts); c != 0 {
				return c
			}
			return strings.Compare(e.EventID, p.id)
		})
		if k < len(matched) && matched[k].Timestamp == t && matched[k].EventID == id {
			k++
		}
		matched = matched[k:]
	}
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	out := struct {
		Events             []filteredEvent `json:"events"`
		SearchedLogStreams []any           `json:"searchedLogStreams"`
		NextToken          string          `json:"nextToken,omitempty"`
	}{Events: []filteredEvent{}, SearchedLogStreams: []any{}}
	if len(matched) > limit {
		last := matched[limit-1]
		out.NextToken = encodeToken(strconv.FormatInt(last.Timestamp, 10) + "/" + last.EventID)
		matched = matched[:limit]
	}
	out.Events = append(out.Events, matched...)
	return out, nil
}

// eventID is an event's id for FilterLogEvents: the same on every read, unique in its group,
// and ordered like the events of one stream.
func eventID(stream string, index int) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(stream); i++ {
		h = (h ^ uint64(stream[i])) * 1099511628211
	}
	return fmt.Sprintf("%020d%016d", h, index)
}

func (s *Service) apiPutRetentionPolicy(_ context.Context, body []byte) (any, error) {
	return s.setRetention(body, true)
}

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func (s *Service) setRetention(body []byte, set bool) (any, error) {
	var in struct {
		groupIn
		RetentionInDays int `json:"retentionInDays"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if set && !slices.Contains(retentionDays, in.RetentionInDays) {
		return nil, invalid("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", in.RetentionInDays, retentionDays)
	}
	g, err := s.existing(name)
	if err != nil {
		return nil, err
	}
	g.meta.Retention = 0
	if set {
		g.meta.Retention = in.RetentionInDays
	}
	if err := s.writeMeta(name, g.meta); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}
