package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// flushMarker is written into a process's output pipe by the pool after an invocation's
// answer: once the reader meets it, everything the function printed before answering has been
// read, so the invocation's log is complete. It is a single write under PIPE_BUF, hence never
// interleaved with the function's own writes.
var flushMarker = []byte("\x00\x1bstepline-log-flush\x1b\x00")

// logStream is one process's log stream file, plus the part of the current invocation that
// goes to Result.Log.
type logStream struct {
	mu sync.Mutex
	f  *os.File
	// w buffers the file: an invocation's START, output, END and REPORT usually reach it in
	// one write, at the invocation's end (or when 32 KiB are pending, or the process ends).
	w       *bufio.Writer
	path    string
	stream  string
	size    int64
	maxFile int64
	// The current invocation's log, when asked for (TailLog): at most limit bytes, the rest
	// counted in dropped.
	capture bool
	cur     string // the request id of the last START
	buf     []byte
	limit   int
	dropped int
}

func (l *logStream) open(path, stream string, maxFile int64, limit int, capture bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("sandbox: log stream: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("sandbox: log stream: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f, l.path, l.stream, l.maxFile, l.limit, l.capture = f, path, stream, maxFile, limit, capture
	l.w = bufio.NewWriterSize(f, 32<<10)
	return nil
}

func (l *logStream) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.w.Flush()
		l.f.Close()
		l.f = nil
	}
}

// flush writes what the buffer holds to the file.
func (l *logStream) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.w.Flush()
	}
}

// write appends output to the file and, when capturing, to the invocation's log.
func (l *logStream) write(b []byte) {
	if len(b) == 0 {
		return
	}
	l.mu.Lock()
	l.writeLocked(b)
	l.mu.Unlock()
}

func (l *logStream) writeLocked(b []byte) {
	l.fileWrite(b)
	if !l.capture {
		return
	}
	room := l.limit - len(l.buf)
	if room >= len(b) {
		l.buf = append(l.buf, b...)
		return
	}
	if room > 0 {
		l.buf = append(l.buf, b[:room]...)
	}
	l.dropped += len(b) - max(room, 0)
}

// fileWrite appends to the stream file, rotating it to NAME.1 when it would pass maxFile.
func (l *logStream) fileWrite(b []byte) {
	if l.f == nil {
		return
	}
	if l.size+int64(len(b)) > l.maxFile && l.size > 0 {
		l.w.Flush()
		l.f.Close()
		l.f = nil
		_ = os.Rename(l.path, l.path+".1")
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		l.f, l.size = f, 0
		l.w.Reset(f)
	}
	if int64(len(b)) > l.maxFile {
		b = b[:l.maxFile]
	}
	n, _ := l.w.Write(b)
	l.size += int64(n)
}

// begin writes c's START line, once: by the Runtime API handler as it hands c over, or by
// finish when the runtime never took it. A cold start keeps capturing what init printed.
func (l *logStream) begin(c *call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == c.id {
		return
	}
	l.cur = c.id
	if !c.cold {
		l.buf, l.dropped = l.buf[:0], 0
	}
	l.capture = c.capture
	line := make([]byte, 0, 64+len(c.id)+len(c.version))
	line = append(line, "START RequestId: "...)
	line = append(line, c.id...)
	line = append(line, " Version: "...)
	line = append(line, c.version...)
	line = append(line, '\n')
	l.writeLocked(line)
}

// end writes END and REPORT and returns the invocation's log when it was asked for. status is
// what Lambda appends to REPORT when the runtime did not finish normally ("timeout", or
// "error" with errType), else "".
func (l *logStream) end(id string, d time.Duration, memMB, usedMB int, cold bool, initDur time.Duration, status, errType string, tail bool) []byte {
	ms := float64(d.Microseconds()) / 1000
	line := make([]byte, 0, 256)
	line = append(line, "END RequestId: "...)
	line = append(line, id...)
	line = append(line, "\nREPORT RequestId: "...)
	line = append(line, id...)
	line = append(line, "\tDuration: "...)
	line = strconv.AppendFloat(line, ms, 'f', 2, 64)
	line = append(line, " ms\tBilled Duration: "...)
	line = strconv.AppendInt(line, (d.Microseconds()+999)/1000, 10)
	line = append(line, " ms\tMemory Size: "...)
	line = strconv.AppendInt(line, int64(memMB), 10)
	line = append(line, " MB\tMax Memory Used: "...)
	line = strconv.AppendInt(line, int64(usedMB), 10)
	line = append(line, " MB\t"...)
	if cold {
		line = append(line, "Init Duration: "...)
		line = strconv.AppendFloat(line, float64(initDur.Microseconds())/1000, 'f', 2, 64)
		line = append(line, " ms\t"...)
	}
	if status != "" {
		line = append(line, "Status: "...)
		line = append(line, status...)
		line = append(line, '\t')
		if errType != "" {
			line = append(line, "Error Type: "...)
			line = append(line, errType...)
			line = append(line, '\t')
		}
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	if tail && l.capture {
		out = make([]byte, 0, len(l.buf)+len(line)+96)
		out = append(out, l.buf...)
		if l.dropped > 0 {
			out = fmt.Appendf(out, "[stepline: %d bytes of output dropped from this invocation's log, over %d kept; the log stream file has them]\n", l.dropped, l.limit)
		}
		out = append(out, line...)
	}
	l.capture = false
	l.fileWrite(line)
	if l.f != nil {
		l.w.Flush()
	}
	l.buf, l.dropped = l.buf[:0], 0
	return out
}

// readOutput copies the process's output into its log stream until the pipe closes,
// acknowledging each flush marker.
func (pr *proc) readOutput() {
	defer close(pr.reader)
	buf := make([]byte, 64<<10)
	carry := 0
	for {
		n, err := pr.outR.Read(buf[carry:])
		if n > 0 {
			data := buf[:carry+n]
			for {
				i := bytes.Index(data, flushMarker)
				if i < 0 {
					break
				}
				pr.log.write(data[:i])
				data = data[i+len(flushMarker):]
				select {
				case pr.flushed <- struct{}{}:
				default:
				}
			}
			k := partialSuffix(data, flushMarker)
			pr.log.write(data[:len(data)-k])
			carry = copy(buf, data[len(data)-k:])
		}
		if err != nil {
			pr.log.write(buf[:carry])
			return
		}
	}
}

// partialSuffix is the length of the longest end of b that begins m (shorter than m).
func partialSuffix(b, m []byte) int {
	for k := min(len(m)-1, len(b)); k > 0; k-- {
		if bytes.Equal(b[len(b)-k:], m[:k]) {
			return k
		}
	}
	return 0
}
