package accounting

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tollgate-dev/tollgate/service/store"
)

// File names in the log directory. Segments are named so that the lexical
// order of names is the order they were written in; version 1 segments
// (from before the log was the normal path) sort before version 2 ones
// because they are older. A segment that cannot be read is renamed with
// the suffix .bad and left for an operator.
const (
	segmentPrefix    = "records-"
	legacyPrefix     = "segment-"
	segmentSuffix    = ".jsonl"
	quarantineSuffix = ".bad"
	lockName         = "LOCK"
	seqDigits        = 20
)

// Errors of the record log.
var (
	errLogFull   = errors.New("record log is full")
	errDirLocked = errors.New("record log directory is used by another process")
)

func segmentFileName(prefix string, seq uint64) string {
	return fmt.Sprintf("%s%0*d%s", prefix, seqDigits, seq, segmentSuffix)
}

// parseSegmentName returns the sequence number of a segment file name and
// whether it is a version 1 (legacy) segment.
func parseSegmentName(name string) (seq uint64, legacy, ok bool) {
	digits, found := strings.CutPrefix(name, segmentPrefix)
	if !found {
		if digits, found = strings.CutPrefix(name, legacyPrefix); !found {
			return 0, false, false
		}
		legacy = true
	}
	digits, found = strings.CutSuffix(digits, segmentSuffix)
	if !found || len(digits) != seqDigits {
		return 0, false, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, legacy, err == nil
}

// segFile is one segment file of the log directory.
type segFile struct {
	seq    uint64
	legacy bool
	// id is the segment's id, known once written or loaded.
	id   store.SegmentID
	size int64
	// lines is the number of records this process wrote to it; acked the
	// number of them stored (LIVE segments only, see replay).
	lines, acked int
	sealed       bool
	// replay is set for a segment whose records are read back from disk
	// rather than from memory: one a previous process left, or one this
	// process wrote while the store was behind. It is deleted once
	// replayed.
	replay bool
}

func (s *segFile) name() string {
	if s.legacy {
		return segmentFileName(legacyPrefix, s.seq)
	}
	return segmentFileName(segmentPrefix, s.seq)
}

// recordLog is the directory of segment files every record is appended to
// before it is queued for the store (see the package documentation). Its
// methods are safe for concurrent use.
type recordLog struct {
	dir        string
	segRecords int
	maxBytes   int64

	mu   sync.Mutex
	lock *os.File // flock(2) on LOCK while open
	// segs are the segment files present, oldest first.
	segs    []*segFile
	cur     *segFile // the segment being appended to, nil when none
	f       *os.File // cur's file
	nextSeq uint64
	size    int64 // bytes of all segments
	// diskOnly is set while the writer is behind: committed records stay
	// on disk only, to be replayed, instead of being queued in memory.
	diskOnly bool
	full     bool
	// unsynced is set while the open segment holds writes not yet synced.
	unsynced bool
}

func newRecordLog(dir string, segRecords int, maxBytes int64) *recordLog {
	return &recordLog{dir: dir, segRecords: segRecords, maxBytes: maxBytes}
}

// open locks the directory (creating it if needed) and lists the segments
// left in it, which are all to be replayed.
func (l *recordLog) open() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock != nil {
		return nil
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("create record log directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(l.dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open record log lock: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return fmt.Errorf("%w: %s (%w)", errDirLocked, l.dir, err)
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		lock.Close()
		return fmt.Errorf("list record log directory: %w", err)
	}
	l.segs, l.size, l.nextSeq = nil, 0, 1
	for _, e := range entries {
		seq, legacy, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		l.segs = append(l.segs, &segFile{seq: seq, legacy: legacy, size: info.Size(), sealed: true, replay: true})
		l.size += info.Size()
		l.nextSeq = max(l.nextSeq, seq+1)
	}
	slices.SortFunc(l.segs, func(a, b *segFile) int {
		if a.legacy != b.legacy {
			if a.legacy {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.seq, b.seq)
	})
	l.lock = lock
	return nil
}

// write appends buf, n encoded records, to the open segment (opening one,
// or a new one when it is full, first), and with sync makes the segment
// durable (fdatasync). It returns the segment, the line of the first
// record, and whether the records are to be queued in memory (false while
// diskOnly). Once write returns the records survive the process dying; the
// machine dying, only once synced. On error nothing counts as written: the
// caller keeps the records in memory; a partly written tail is a torn line
// the replay skips.
func (l *recordLog) write(buf []byte, n int, sync bool) (*segFile, int, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked(buf, n, sync)
}

// sync makes what was written to the open segment durable, if anything
// was written since the last sync.
func (l *recordLog) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil || !l.unsynced {
		return nil
	}
	if err := syncData(l.f); err != nil {
		return fmt.Errorf("sync record log: %w", err)
	}
	l.unsynced = false
	return nil
}

// writeOffline appends records that are not queued in memory: they are
// read back from the log (by this process's replay, or the next process).
func (l *recordLog) writeOffline(buf []byte, n int) (*segFile, int, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg, first, _, err := l.writeLocked(buf, n, true)
	if seg != nil {
		seg.replay = true
	}
	return seg, first, false, err
}

func (l *recordLog) writeLocked(buf []byte, n int, sync bool) (*segFile, int, bool, error) {
	if l.lock == nil {
		return nil, 0, false, errors.New("record log is closed")
	}
	if l.cur != nil && l.cur.lines >= l.segRecords {
		if err := l.sealLocked(); err != nil {
			return nil, 0, false, err
		}
	}
	if l.maxBytes > 0 && l.size+int64(len(buf)) > l.maxBytes {
		l.full = true
		return nil, 0, false, errLogFull
	}
	l.full = false
	if l.cur == nil {
		if err := l.createLocked(); err != nil {
			return nil, 0, false, err
		}
	}
	c := l.cur
	nw, err := l.f.Write(buf)
	c.size += int64(nw)
	l.size += int64(nw)
	l.unsynced = true
	if err == nil && sync {
		if err = syncData(l.f); err == nil {
			l.unsynced = false
		}
	}
	if err != nil {
		// Seal it so that a torn line can only be a segment's last.
		return nil, 0, false, errors.Join(fmt.Errorf("append to record log: %w", err), l.sealLocked())
	}
	first := c.lines
	c.lines += n
	return c, first, !l.diskOnly, nil
}

// createLocked creates the next segment with its header and makes its
// name durable.
func (l *recordLog) createLocked() error {
	seg := &segFile{seq: l.nextSeq, replay: l.diskOnly}
	if _, err := rand.Read(seg.id[:]); err != nil {
		return fmt.Errorf("segment id: %w", err)
	}
	l.nextSeq++
	f, err := os.OpenFile(filepath.Join(l.dir, seg.name()), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create record log segment: %w", err)
	}
	hdr := appendHeader(nil, seg.id)
	n, err := f.Write(hdr)
	seg.size = int64(n)
	l.size += int64(n)
	if err == nil {
		err = syncDir(l.dir)
	}
	l.segs = append(l.segs, seg)
	if err != nil {
		f.Close()
		seg.sealed = true
		seg.replay = true
		return fmt.Errorf("create record log segment: %w", err)
	}
	l.cur, l.f = seg, f
	return nil
}

// sealLocked syncs and closes the open segment, if any. A sealed segment
// whose records are all stored is deleted.
func (l *recordLog) sealLocked() error {
	c := l.cur
	if c == nil {
		return nil
	}
	l.cur = nil
	c.sealed = true
	err := errors.Join(l.f.Sync(), l.f.Close())
	l.f, l.unsynced = nil, false
	if err != nil {
		c.replay = true // whatever reached the file is replayed
		return fmt.Errorf("seal record log segment %d: %w", c.seq, err)
	}
	if !c.replay && c.acked >= c.lines {
		return l.removeLocked(c)
	}
	return nil
}

// ack records that n records of seg, written by this process and queued
// in memory, are stored; a sealed segment whose records are all stored is
// deleted.
func (l *recordLog) ack(seg *segFile, n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg.acked += n
	if seg.sealed && !seg.replay && seg.acked >= seg.lines {
		return l.removeLocked(seg)
	}
	return nil
}

// behind makes committed records stay on disk only and marks every
// segment with records not yet stored, the open one included, for replay.
func (l *recordLog) behind() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.diskOnly = true
	for _, s := range l.segs {
		if s == l.cur || s.acked < s.lines {
			s.replay = true
		}
	}
}

// nextReplay returns the oldest sealed segment to replay. When none is
// left but the open segment is one, it seals it and returns it; with
// resume (the store is healthy) it also ends diskOnly, so that records
// committed from then on go to a new segment and to memory, and reports
// that it resumed. A nil segment means nothing is left to replay.
func (l *recordLog) nextReplay(resume bool) (*segFile, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.segs {
		if s.replay && s.sealed {
			return s, false, nil
		}
	}
	resumed := false
	if resume && l.diskOnly {
		l.diskOnly, resumed = false, true
	}
	c := l.cur
	if c == nil || !c.replay {
		return nil, resumed, nil
	}
	return c, resumed, l.sealLocked()
}

// replays reports whether seg's records are to be read back from disk.
func (l *recordLog) replays(seg *segFile) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return seg.replay
}

// stop is called when the writer stops queueing: records written from now
// on stay on disk for the next process, and the open segment is sealed,
// and deleted if all its records are stored.
func (l *recordLog) stop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.diskOnly = true
	if c := l.cur; c != nil && c.acked < c.lines {
		c.replay = true
	}
	return l.sealLocked()
}

// remove deletes a segment whose records are all stored.
func (l *recordLog) remove(seg *segFile) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.removeLocked(seg)
}

func (l *recordLog) removeLocked(seg *segFile) error {
	i := slices.Index(l.segs, seg)
	if i < 0 {
		return nil
	}
	l.segs = slices.Delete(l.segs, i, i+1)
	l.size -= seg.size
	if err := os.Remove(filepath.Join(l.dir, seg.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove record log segment: %w", err)
	}
	return nil
}

// quarantine renames a segment that cannot be read so that it is not
// replayed again, and forgets it.
func (l *recordLog) quarantine(seg *segFile) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.segs, seg)
	if i < 0 {
		return nil
	}
	l.segs = slices.Delete(l.segs, i, i+1)
	l.size -= seg.size
	p := filepath.Join(l.dir, seg.name())
	if err := os.Rename(p, p+quarantineSuffix); err != nil {
		return fmt.Errorf("quarantine record log segment: %w", err)
	}
	return nil
}

// stats returns the log's size and whether it is full.
func (l *recordLog) stats() (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size, l.full
}

// close seals the open segment and releases the directory.
func (l *recordLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return nil
	}
	err := l.sealLocked()
	err = errors.Join(err, l.lock.Close())
	l.lock = nil
	return err
}

// loaded is a segment read back from disk: runs of consecutive lines.
type loaded struct {
	id store.SegmentID
	// dedupe is set when the segment has no usable id (version 1, or a
	// torn header): the store then skips records it holds by RequestID
	// and Time instead.
	dedupe bool
	runs   []run
	// corrupt counts complete lines that did not decode.
	corrupt int
}

// run is the records of lines [first, first+len(recs)).
type run struct {
	first int
	recs  []store.Record
}

// load reads a segment. Lines that do not decode are skipped and counted,
// an unterminated last line (torn by a crash) is ignored, and records are
// sanitised, so that no line can stop the others.
func (l *recordLog) load(seg *segFile) (*loaded, error) {
	data, err := os.ReadFile(filepath.Join(l.dir, seg.name()))
	if errors.Is(err, fs.ErrNotExist) {
		return &loaded{id: seg.id}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read record log segment %s: %w", seg.name(), err)
	}
	out := &loaded{dedupe: true}
	if !seg.legacy {
		if hdr, rest, ok := bytes.Cut(data, []byte{'\n'}); ok {
			var h segmentHeader
			if json.Unmarshal(hdr, &h) == nil && h.Version >= 2 {
				if id, err := parseSegmentID(h.Segment); err == nil {
					out.id, out.dedupe, data = id, false, rest
				}
			}
		}
	}
	inRun := false
	for line := 0; ; line++ {
		ln, rest, complete := bytes.Cut(data, []byte{'\n'})
		if !complete {
			if len(bytes.TrimSpace(ln)) > 0 {
				out.corrupt++ // a last line torn by a crash
			}
			break
		}
		data = rest
		r, err := decodeRecord(ln)
		if err != nil {
			if len(bytes.TrimSpace(ln)) > 0 {
				out.corrupt++
			}
			inRun = false
			continue
		}
		r.Sanitize()
		if !inRun {
			out.runs = append(out.runs, run{first: line})
			inRun = true
		}
		last := &out.runs[len(out.runs)-1]
		last.recs = append(last.recs, r)
	}
	return out, nil
}

// syncDir makes the creation of files in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open record log directory: %w", err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("sync record log directory: %w", err)
	}
	return nil
}
