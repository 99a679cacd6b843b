package scheduler

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// maxBody bounds a request body; the largest (a schedule with an 8 KB input) is far below.
const maxBody = 1 << 20

// ServeHTTP serves the EventBridge Scheduler REST-JSON API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux().ServeHTTP(w, r)
}

func (s *Service) mux() http.Handler {
	s.muxOnce.Do(func() {
		m := http.NewServeMux()
		m.HandleFunc("POST /schedules/{Name}", s.httpCreateSchedule)
		m.HandleFunc("PUT /schedules/{Name}", s.httpUpdateSchedule)
		m.HandleFunc("GET /schedules/{Name}", s.httpGetSchedule)
		m.HandleFunc("DELETE /schedules/{Name}", s.httpDeleteSchedule)
		m.HandleFunc("GET /schedules", s.httpListSchedules)
		m.HandleFunc("POST /schedule-groups/{Name}", s.httpCreateGroup)
		m.HandleFunc("GET /schedule-groups/{Name}", s.httpGetGroup)
		m.HandleFunc("DELETE /schedule-groups/{Name}", s.httpDeleteGroup)
		m.HandleFunc("GET /schedule-groups", s.httpListGroups)
		m.HandleFunc("POST /tags/{ResourceArn...}", s.httpTag)
		m.HandleFunc("DELETE /tags/{ResourceArn...}", s.httpUntag)
		m.HandleFunc("GET /tags/{ResourceArn...}", s.httpListTags)
		m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &Error{Code: "UnknownOperationException", Status: http.StatusNotFound,
				Message: "No operation of EventBridge Scheduler is " + r.Method + " " + r.URL.Path})
		})
		s.handler = m
	})
	return s.handler
}

// writeError answers as the Scheduler does: the code in X-Amzn-Errortype, which the SDKs
// read first, and {"Message"} in the body.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": e.Message})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = errInternal(err)
		}
		writeError(w, e)
		return
	}
	writeJSON(w, v)
}

func readJSON(r *http.Request, v any) *Error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errValidation("Could not read the request body.")
	}
	if len(b) > maxBody {
		return errValidation("The request body is too large.")
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Error{Code: "ValidationException", Status: http.StatusBadRequest, Message: "Invalid request body: " + err.Error()}
	}
	return nil
}

func (s *Service) scheduleInput(r *http.Request) (*ScheduleInput, *Error) {
	var in ScheduleInput
	if e := readJSON(r, &in); e != nil {
		return nil, e
	}
	in.Name = r.PathValue("Name")
	return &in, nil
}

func (s *Service) httpCreateSchedule(w http.ResponseWriter, r *http.Request) {
	in, e := s.scheduleInput(r)
	if e != nil {
		writeError(w, e)
		return
	}
	arn, err := s.CreateSchedule(r.Context(), in)
	answer(w, map[string]string{"ScheduleArn": arn}, err)
}

func (s *Service) httpUpdateSchedule(w http.ResponseWriter, r *http.Request) {
	in, e := s.scheduleInput(r)
	if e != nil {
		writeError(w, e)
		return
	}
	arn, err := s.UpdateSchedule(r.Context(), in)
	answer(w, map[string]string{"ScheduleArn": arn}, err)
}

func (s *Service) httpGetSchedule(w http.ResponseWriter, r *http.Request) {
	out, err := s.GetSchedule(r.Context(), r.URL.Query().Get("groupName"), r.PathValue("Name"))
	answer(w, out, err)
}

func (s *Service) httpDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	err := s.DeleteSchedule(r.Context(), r.URL.Query().Get("groupName"), r.PathValue("Name"))
	answer(w, struct{}{}, err)
}

func maxResults(q url.Values) (int, *Error) {
	v := q.Get("MaxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, errConstraint(v, "maxResults", "Member must have value between 1 and 100")
	}
	return n, nil
}

func (s *Service) httpListSchedules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, e := maxResults(q)
	if e != nil {
		writeError(w, e)
		return
	}
	list, next, err := s.ListSchedules(r.Context(), &ListSchedulesInput{GroupName: q.Get("ScheduleGroup"), NamePrefix: q.Get("NamePrefix"),
		State: q.Get("State"), NextToken: q.Get("NextToken"), MaxResults: n})
	out := map[string]any{"Schedules": list}
	if next != "" {
		out["NextToken"] = next
	}
	answer(w, out, err)
}

func (s *Service) httpCreateGroup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tags        []Tag
		ClientToken string
	}
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	arn, err := s.CreateScheduleGroup(r.Context(), r.PathValue("Name"), in.Tags)
	answer(w, map[string]string{"ScheduleGroupArn": arn}, err)
}

func (s *Service) httpGetGroup(w http.ResponseWriter, r *http.Request) {
	out, err := s.GetScheduleGroup(r.Context(), r.PathValue("Name"))
	answer(w, out, err)
}

func (s *Service) httpDeleteGroup(w http.ResponseWriter, r *http.Request) {
	answer(w, struct{}{}, s.DeleteScheduleGroup(r.Context(), r.PathValue("Name")))
}

func (s *Service) httpListGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, e := maxResults(q)
	if e != nil {
		writeError(w, e)
		return
	}
	list, next, err := s.ListScheduleGroups(r.Context(), q.Get("NamePrefix"), q.Get("NextToken"), n)
	out := map[string]any{"ScheduleGroups": list}
	if next != "" {
		out["NextToken"] = next
	}
	answer(w, out, err)
}

func (s *Service) httpTag(w http.ResponseWriter, r *http.Request) {
	var in struct{ Tags []Tag }
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	answer(w, struct{}{}, s.TagResource(r.Context(), r.PathValue("ResourceArn"), in.Tags))
}

func (s *Service) httpUntag(w http.ResponseWriter, r *http.Request) {
	answer(w, struct{}{}, s.UntagResource(r.Context(), r.PathValue("ResourceArn"), r.URL.Query()["TagKeys"]))
}

func (s *Service) httpListTags(w http.ResponseWriter, r *http.Request) {
	tags, err := s.ListTagsForResource(r.Context(), r.PathValue("ResourceArn"))
	answer(w, map[string]any{"Tags": tags}, err)
}
