package accounting

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Segment files are named segment-<20-digit sequence>.jsonl so that the
// lexical order of names is the order they were written in. A segment that
// cannot be read is renamed with the suffix .bad and left for an operator.
const (
	segmentPrefix    = "segment-"
	segmentSuffix    = ".jsonl"
	quarantineSuffix = ".bad"
	seqDigits        = 20
)

func segmentName(seq uint64) string {
	return fmt.Sprintf("%s%0*d%s", segmentPrefix, seqDigits, seq, segmentSuffix)
}

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, segmentSuffix)
	if !ok || len(digits) != seqDigits {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// spillDir is the segment files of one directory. Its methods are safe for
// concurrent use: Run and Record (when the queue is full or closed) append
// to the same open segment.
type spillDir struct {
	dir            string
	segmentRecords int
	log            *slog.Logger

	mu      sync.Mutex
	ready   bool
	nextSeq uint64
	// sealed holds the closed segments not yet replayed, oldest first.
	sealed []uint64
	// cur is the segment being appended to, nil when none.
	cur *segment
}

// segment is an open segment file.
type segment struct {
	seq uint64
	f   *os.File
	bw  *bufio.Writer
	enc *json.Encoder
	n   int
}

func newSpillDir(dir string, segmentRecords int, log *slog.Logger) *spillDir {
	return &spillDir{dir: dir, segmentRecords: segmentRecords, log: log}
}

// init creates the directory and lists the segments left in it. It is
// called by Run at start and, lazily, by the first append.
func (s *spillDir) init() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initLocked()
}

func (s *spillDir) initLocked() error {
	if s.ready {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create spill directory: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list spill directory: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	s.sealed = seqs
	s.nextSeq = 1
	if len(seqs) > 0 {
		s.nextSeq = seqs[len(seqs)-1] + 1
	}
	s.ready = true
	return nil
}

func (s *spillDir) path(seq uint64) string {
	return filepath.Join(s.dir, segmentName(seq))
}

// append writes rs to the open segment, opening one if needed, and hands
// the bytes to the operating system before returning: they survive the
// process dying, though not the machine until the segment is sealed. On
// error any part of rs may have been written; the segment is then sealed so
// that a torn line can only be a segment's last.
func (s *spillDir) append(rs []store.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.initLocked(); err != nil {
		return err
	}
	if s.cur == nil {
		if err := s.openLocked(); err != nil {
			return err
		}
	}
	c := s.cur
	var err error
	for i := range rs {
		sr := toSpillRecord(&rs[i])
		if err = c.enc.Encode(&sr); err != nil {
			break
		}
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		err = fmt.Errorf("append to spill segment %d: %w", c.seq, err)
		if serr := s.sealLocked(); serr != nil {
			err = errors.Join(err, serr)
		}
		return err
	}
	c.n += len(rs)
	if c.n >= s.segmentRecords {
		// The records are written; a failed fsync only weakens their
		// durability, so it is logged rather than returned.
		if err := s.sealLocked(); err != nil {
			s.log.Warn("accounting: sealing spill segment failed", "err", err)
		}
	}
	return nil
}

func (s *spillDir) openLocked() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create spill directory: %w", err)
	}
	seq := s.nextSeq
	s.nextSeq++
	f, err := os.OpenFile(s.path(seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create spill segment: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	s.cur = &segment{seq: seq, f: f, bw: bw, enc: enc}
	return nil
}

// seal flushes, fsyncs and closes the open segment, if any, and queues it
// for replay.
func (s *spillDir) seal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sealLocked()
}

func (s *spillDir) sealLocked() error {
	c := s.cur
	if c == nil {
		return nil
	}
	s.cur = nil
	// Queue it even if syncing fails: whatever reached the file is replayed.
	s.sealed = append(s.sealed, c.seq)
	err := errors.Join(c.bw.Flush(), c.f.Sync(), c.f.Close())
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("seal spill segment %d: %w", c.seq, err)
	}
	return nil
}

// hasOpen reports whether a segment is open for appending.
func (s *spillDir) hasOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// hasBacklog reports whether any segment awaits replay, open or sealed.
func (s *spillDir) hasBacklog() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil || len(s.sealed) > 0
}

// oldest returns the oldest sealed segment awaiting replay.
func (s *spillDir) oldest() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sealed) == 0 {
		return 0, false
	}
	return s.sealed[0], true
}

// load reads a sealed segment. Lines that do not decode, such as a line
// torn by a crash, are skipped and counted in corrupt. A missing file
// yields no records.
func (s *spillDir) load(seq uint64) (rs []store.Record, corrupt int, err error) {
	data, err := os.ReadFile(s.path(seq))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read spill segment %d: %w", seq, err)
	}
	rs = make([]store.Record, 0, bytes.Count(data, []byte{'\n'})+1)
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var sr spillRecord
		if err := json.Unmarshal(line, &sr); err != nil {
			corrupt++
			continue
		}
		rs = append(rs, sr.toRecord())
	}
	return rs, corrupt, nil
}

// remove deletes a replayed segment.
func (s *spillDir) remove(seq uint64) error {
	s.forget(seq)
	if err := os.Remove(s.path(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove spill segment %d: %w", seq, err)
	}
	return nil
}

// quarantine renames an unreadable segment so that it is not replayed again.
func (s *spillDir) quarantine(seq uint64) error {
	s.forget(seq)
	p := s.path(seq)
	if err := os.Rename(p, p+quarantineSuffix); err != nil {
		return fmt.Errorf("quarantine spill segment %d: %w", seq, err)
	}
	return nil
}

func (s *spillDir) forget(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealed = slices.DeleteFunc(s.sealed, func(v uint64) bool { return v == seq })
}

// syncDir makes the creation of files in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Directories cannot be opened for syncing there.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open spill directory: %w", err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("sync spill directory: %w", err)
	}
	return nil
}

// spillRecord is the on-disk form of a store.Record, one JSON object per
// line. Its field names are part of the format: segments written by one
// version are replayed by the next, so rename nothing, only add. Durations
// are nanoseconds; empty Tags read back as nil.
type spillRecord struct {
	RequestID         string                   `json:"id"`
	Time              time.Time                `json:"time"`
	KeyID             string                   `json:"key,omitempty"`
	TeamID            string                   `json:"team,omitempty"`
	ServiceID         string                   `json:"service,omitempty"`
	EndUser           string                   `json:"end_user,omitempty"`
	Tags              []string                 `json:"tags,omitempty"`
	Surface           string                   `json:"surface,omitempty"`
	Operation         string                   `json:"op,omitempty"`
	Stream            bool                     `json:"stream,omitempty"`
	RequestedModel    string                   `json:"requested_model,omitempty"`
	Provider          string                   `json:"provider,omitempty"`
	Model             string                   `json:"model,omitempty"`
	Status            int16                    `json:"status,omitempty"`
	ErrorCode         string                   `json:"error_code,omitempty"`
	InputTokens       int64                    `json:"in,omitempty"`
	OutputTokens      int64                    `json:"out,omitempty"`
	CachedInputTokens int64                    `json:"cached_in,omitempty"`
	CacheWriteTokens  int64                    `json:"cache_write,omitempty"`
	ReasoningTokens   int64                    `json:"reasoning,omitempty"`
	UsageEstimated    bool                     `json:"estimated,omitempty"`
	CostNanos         int64                    `json:"cost_nanos,omitempty"`
	LatencyNanos      int64                    `json:"latency_ns,omitempty"`
	TTFTNanos         int64                    `json:"ttft_ns,omitempty"`
	Attempts          int                      `json:"attempts,omitempty"`
	Partial           bool                     `json:"partial,omitempty"`
	CacheStatus       string                   `json:"cache,omitempty"`
	SavedNanos        int64                    `json:"saved_nanos,omitempty"`
	Guardrails        []store.GuardrailVerdict `json:"guardrails,omitempty"`
	DroppedParams     []string                 `json:"dropped_params,omitempty"`
}

func toSpillRecord(r *store.Record) spillRecord {
	return spillRecord{
		RequestID:         r.RequestID,
		Time:              r.Time,
		KeyID:             r.KeyID,
		TeamID:            r.TeamID,
		ServiceID:         r.ServiceID,
		EndUser:           r.EndUser,
		Tags:              r.Tags,
		Surface:           r.Surface,
		Operation:         r.Operation,
		Stream:            r.Stream,
		RequestedModel:    r.RequestedModel,
		Provider:          r.Provider,
		Model:             r.Model,
		Status:            int16(r.Status),
		ErrorCode:         r.ErrorCode,
		InputTokens:       r.InputTokens,
		OutputTokens:      r.OutputTokens,
		CachedInputTokens: r.CachedInputTokens,
		CacheWriteTokens:  r.CacheWriteTokens,
		ReasoningTokens:   r.ReasoningTokens,
		UsageEstimated:    r.UsageEstimated,
		CostNanos:         r.CostNanos,
		LatencyNanos:      int64(r.Latency),
		TTFTNanos:         int64(r.TTFT),
		Attempts:          r.Attempts,
		Partial:           r.Partial,
		CacheStatus:       r.CacheStatus,
		SavedNanos:        r.SavedNanos,
		Guardrails:        r.Guardrails,
		DroppedParams:     r.DroppedParams,
	}
}

func (sr *spillRecord) toRecord() store.Record {
	return store.Record{
		RequestID:         sr.RequestID,
		Time:              sr.Time,
		KeyID:             sr.KeyID,
		TeamID:            sr.TeamID,
		ServiceID:         sr.ServiceID,
		EndUser:           sr.EndUser,
		Tags:              sr.Tags,
		Surface:           sr.Surface,
		Operation:         sr.Operation,
		Stream:            sr.Stream,
		RequestedModel:    sr.RequestedModel,
		Provider:          sr.Provider,
		Model:             sr.Model,
		Status:            store.Status(sr.Status),
		ErrorCode:         sr.ErrorCode,
		InputTokens:       sr.InputTokens,
		OutputTokens:      sr.OutputTokens,
		CachedInputTokens: sr.CachedInputTokens,
		CacheWriteTokens:  sr.CacheWriteTokens,
		ReasoningTokens:   sr.ReasoningTokens,
		UsageEstimated:    sr.UsageEstimated,
		CostNanos:         sr.CostNanos,
		Latency:           time.Duration(sr.LatencyNanos),
		TTFT:              time.Duration(sr.TTFTNanos),
		Attempts:          sr.Attempts,
		Partial:           sr.Partial,
		CacheStatus:       sr.CacheStatus,
		SavedNanos:        sr.SavedNanos,
		Guardrails:        sr.Guardrails,
		DroppedParams:     sr.DroppedParams,
	}
}
