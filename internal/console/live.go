package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// liveUpdate is one message of an execution page's stream: what changed since the last.
type liveUpdate struct {
	Statuses map[string]string      `json:"statuses"`
	States   map[string]stateDetail `json:"states"`
	Summary  string                 `json:"summary"`
	// IO is the input and output, sent with the last message only: the output comes at the
	// end, and an input may be large.
	IO string `json:"io,omitempty"`
	// Rows holds the table rows that are new or changed (those still open at the last
	// message); Span is the execution's span in ms, which places every timeline bar.
	Rows       string   `json:"rows"`
	Span       int64    `json:"span"`
	Events     string   `json:"events"`
	EventTypes []string `json:"eventTypes"`
	Last       int64    `json:"last"`
	Done       bool     `json:"done"`
}

// keepAlive is how often an idle stream sends a comment, so that a proxy keeps it open and a
// browser that went away is noticed.
const keepAlive = 15 * time.Second

// StopLive ends every live stream at once, for the server's shutdown: a stream otherwise
// lasts as long as its execution runs.
func (c *Console) StopLive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped {
		c.stopped = true
		close(c.stopping)
	}
}

// live streams an execution's changes as server-sent events while it runs: the page sends
// the id of the last event it shows, the stream sends what came after, then ends with a
// message marked done once the execution ended. The stream reads the store every LivePoll,
// one row, and the history only when the execution's version moved: nothing here touches
// the engine, so watching costs an execution nothing.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	arn := r.PathValue("arn")
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, _ = strconv.ParseInt(id, 10, 64)
	}
	v, rp, err := c.load(ctx, arn)
	if err != nil {
		c.failErr(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		c.fail(w, http.StatusInternalServerError, "Error", "streaming is not supported")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(u *liveUpdate) error {
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", u.Last, b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	version := v.X.Version
	// rowsFrom is the first table row the page may not have as it is now: rows before it
	// ended before the last message.
	rowsFrom := 0
	// What happened between the page's rendering and this stream's start goes first.
	if v.LastEventID > after || !v.Live {
		if err := send(c.update(v, rp, after, &rowsFrom)); err != nil || !v.Live {
			return
		}
	} else {
		_, _ = fmt.Fprint(w, ": live\n\n")
		fl.Flush()
	}
	c.mu.Lock()
	stopping := c.stopping
	c.mu.Unlock()
	tick := time.NewTicker(c.o.LivePoll)
	defer tick.Stop()
	idle := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stopping:
			return
		case <-tick.C:
		}
		x, err := c.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn})
		if err != nil {
			c.log.Debug("live: reading the execution", "arn", arn, "err", err)
			continue
		}
		if x.Version == version && x.Status == v.X.Status {
			if time.Since(idle) > keepAlive {
				idle = time.Now()
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				fl.Flush()
			}
			continue
		}
		prev := v.LastEventID
		for {
			res, err := c.o.Store.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: arn, After: v.LastEventID, Limit: store.MaxPageSize})
			if err != nil {
				c.log.Debug("live: reading history", "arn", arn, "err", err)
				break
			}
			for _, e := range res.Events {
				rp.add(e)
				v.LastEventID = e.ID
			}
			if res.NextAfter == 0 {
				break
			}
		}
		// The execution row is written with its events, so a version seen here has them all.
		version, v.X = x.Version, x
		if x.Status.Terminal() {
			// The page's summary shows the outcome: read it whole, with the redrive details.
			if full, _, err := c.load(ctx, arn); err == nil {
				v = full
			}
		}
		c.fill(v, rp)
		idle = time.Now()
		if err := send(c.update(v, rp, prev, &rowsFrom)); err != nil || !v.Live {
			return
		}
	}
}

// update renders the parts of the page that changed: events after the id after are new, and
// table rows from *rowsFrom on; it moves *rowsFrom past the rows that will change no more.
func (c *Console) update(v *execView, rp *replay, after int64, rowsFrom *int) *liveUpdate {
	u := &liveUpdate{Statuses: v.Statuses, States: v.States, EventTypes: v.EventTypes, Last: v.LastEventID, Done: !v.Live,
		Span: v.SpanMs}
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, "summary", v); err == nil {
		u.Summary = b.String()
	}
	b.Reset()
	from := min(*rowsFrom, len(v.Rows))
	if err := c.tmpl.ExecuteTemplate(&b, "rows", struct{ Rows []row }{v.Rows[from:]}); err == nil {
		u.Rows = b.String()
	}
	// Only the details of the states those rows belong to: the page keeps the others.
	u.States = map[string]stateDetail{}
	for _, r := range v.Rows[from:] {
		u.States[r.State] = v.States[r.State]
	}
	for *rowsFrom < len(v.Rows) && v.Rows[*rowsFrom].End != nil {
		*rowsFrom++
	}
	if u.Done {
		b.Reset()
		if err := c.tmpl.ExecuteTemplate(&b, "io", v); err == nil {
			u.IO = b.String()
		}
	}
	b.Reset()
	var fresh []*event
	for _, e := range rp.events {
		if e.ID > after {
			fresh = append(fresh, e)
		}
	}
	if err := c.tmpl.ExecuteTemplate(&b, "eventrows", fresh); err == nil {
		u.Events = b.String()
	}
	return u
}
