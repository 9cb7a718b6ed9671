// Package cgroup reads the CPU and memory limits that the process's own
// Linux control group (v1 or v2) and its ancestors set.
//
// The group is found as the Go runtime finds it for GOMAXPROCS: from
// /proc/self/cgroup and /proc/self/mountinfo, not from fixed paths under
// /sys/fs/cgroup. Fixed paths are right only inside a container with a
// cgroup namespace; a process placed in a group by systemd, by a
// container runtime without a namespace or by hand would otherwise read
// the root group's files and see no limit at all.
package cgroup

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Limits are the limits of a control group: the smallest of the
// process's group and of its ancestors.
type Limits struct {
	// CPU is the CPU bandwidth in CPUs (quota over period, 1.5 for one and
	// a half CPUs), 0 when there is none.
	CPU float64
	// Memory is the memory limit in bytes, 0 when there is none.
	Memory int64
}

// Read returns the limits of the process's control group, zero where
// there is none or they cannot be read (not Linux, no cgroup file
// system).
func Read() Limits { return readFrom("/") }

// readFrom reads the limits with root as the file system's root, so that
// tests can lay out /proc and the cgroup files in a directory.
func readFrom(root string) Limits {
	groups, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return Limits{}
	}
	mounts, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return Limits{}
	}
	ms := parseMountinfo(mounts)
	var l Limits
	if dirs := groupDirs(root, groups, ms, "cpu"); dirs.v1 {
		l.CPU = minLimit(dirs.paths, func(dir string) float64 {
			q, errq := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
			p, errp := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
			if errq != nil || errp != nil {
				return 0
			}
			return parseCPUMax(strings.TrimSpace(string(q)) + " " + strings.TrimSpace(string(p)))
		})
	} else {
		l.CPU = minLimit(dirs.paths, func(dir string) float64 {
			b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
			if err != nil {
				return 0
			}
			return parseCPUMax(string(b))
		})
	}
	dirs := groupDirs(root, groups, ms, "memory")
	file := "memory.max"
	if dirs.v1 {
		file = "memory.limit_in_bytes"
	}
	l.Memory = minLimit(dirs.paths, func(dir string) int64 {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return 0
		}
		return parseMemory(string(b))
	})
	return l
}

// minLimit returns the smallest positive limit read from dirs, 0 when
// none has one.
func minLimit[T int64 | float64](dirs []string, read func(dir string) T) T {
	var least T
	for _, d := range dirs {
		if v := read(d); v > 0 && (least == 0 || v < least) {
			least = v
		}
	}
	return least
}

// mount is a cgroup file system's line of /proc/self/mountinfo.
type mount struct {
	// root is the group the mount shows at its mount point, point where.
	root, point string
	// v2 tells a cgroup2 mount from a v1 one; controllers are a v1
	// mount's (its super options, e.g. cpu and cpuacct).
	v2          bool
	controllers []string
}

// parseMountinfo returns the cgroup mounts of a mountinfo file: "36 35
// 98:0 /root /point rw,relatime shared:1 - cgroup cgroup rw,cpu,cpuacct".
func parseMountinfo(b []byte) []mount {
	var ms []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+3 >= len(f) {
			continue
		}
		m := mount{root: unescape(f[3]), point: unescape(f[4])}
		switch f[sep+1] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			m.controllers = strings.Split(f[sep+3], ",")
		default:
			continue
		}
		ms = append(ms, m)
	}
	return ms
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash ("\040").
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dirs are the directories of a group and its ancestors, leaf first.
type dirs struct {
	paths []string
	// v1 tells that the controller is on a v1 hierarchy.
	v1 bool
}

// groupDirs finds the directories holding controller's files for the
// process's group and its ancestors: on the v1 hierarchy that has the
// controller when there is one (hybrid systems mount most controllers on
// v1 and an empty v2 beside them), else on the v2 hierarchy.
func groupDirs(root string, groups []byte, ms []mount, controller string) dirs {
	var v2Path string
	haveV2 := false
	sc := bufio.NewScanner(bytes.NewReader(groups))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		id, rest, ok1 := strings.Cut(sc.Text(), ":")
		ctrls, group, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			continue
		}
		if id == "0" && ctrls == "" {
			v2Path, haveV2 = group, true
			continue
		}
		for c := range strings.SplitSeq(ctrls, ",") {
			if c != controller {
				continue
			}
			for _, m := range ms {
				if !m.v2 && slices.Contains(m.controllers, controller) {
					return dirs{paths: ancestors(root, m, group), v1: true}
				}
			}
		}
	}
	if haveV2 {
		for _, m := range ms {
			if m.v2 {
				return dirs{paths: ancestors(root, m, v2Path)}
			}
		}
	}
	return dirs{}
}

// ancestors returns the directory of group under mount m and those of its
// ancestors up to the mount point. A group outside the mount's root (a
// cgroup namespace shows the process's group as "/") is the mount point.
func ancestors(root string, m mount, group string) []string {
	rel := "/"
	if m.root == "/" {
		rel = group
	} else if group == m.root || strings.HasPrefix(group, m.root+"/") {
		rel = strings.TrimPrefix(group, m.root)
	}
	rel = path.Clean("/" + rel)
	var out []string
	for {
		out = append(out, filepath.Join(root, m.point, rel))
		if rel == "/" {
			return out
		}
		rel = path.Dir(rel)
	}
}

// parseCPUMax parses v2's cpu.max ("$MAX $PERIOD", MAX "max" for no
// limit), or v1's quota and period joined the same way (quota -1 for no
// limit), into CPUs: 0 for no limit or a malformed value.
func parseCPUMax(s string) float64 {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0
	}
	quota, err := strconv.ParseFloat(f[0], 64)
	if err != nil || quota <= 0 {
		return 0
	}
	period, err := strconv.ParseFloat(f[1], 64)
	if err != nil || period <= 0 {
		return 0
	}
	return quota / period
}

// parseMemory parses a memory limit in bytes, 0 for none: v2 writes
// "max", v1 a number near MaxInt64.
func parseMemory(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
