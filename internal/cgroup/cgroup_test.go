package cgroup

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestReadFrom lays out /proc/self and the cgroup files of the common
// set-ups in a directory and checks the limits read.
func TestReadFrom(t *testing.T) {
	t.Parallel()
	const (
		v2Mount     = "31 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
		v1CPUMount  = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
		v1MemMount  = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		unified     = "40 31 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
		rootfsMount = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	)
	tests := []struct {
		name   string
		groups string
		mounts string
		files  map[string]string // path under the root → content
		want   Limits
	}{{
		name:   "v2 in a cgroup namespace (a container)",
		groups: "0::/\n",
		mounts: rootfsMount + v2Mount,
		files:  map[string]string{"sys/fs/cgroup/cpu.max": "150000 100000\n", "sys/fs/cgroup/memory.max": "536870912\n"},
		want:   Limits{CPU: 1.5, Memory: 512 << 20},
	}, {
		name:   "v2 without a namespace: the pod's limit above the container's group",
		groups: "0::/kubepods/pod1/ctr\n",
		mounts: v2Mount,
		files: map[string]string{
			"sys/fs/cgroup/cpu.max":                      "max 100000\n", // the root group has no cpu.max; a stray one is harmless
			"sys/fs/cgroup/kubepods/cpu.max":             "max 100000\n",
			"sys/fs/cgroup/kubepods/pod1/cpu.max":        "50000 100000\n",
			"sys/fs/cgroup/kubepods/pod1/ctr/cpu.max":    "max 100000\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max":     "1073741824\n",
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": "2147483648\n",
		},
		want: Limits{CPU: 0.5, Memory: 1 << 30},
	}, {
		name:   "v1 beside an empty v2 (hybrid), a group made by hand",
		groups: "4:memory:/a/b\n2:cpu,cpuacct:/tg\n0::/\n",
		mounts: rootfsMount + v1CPUMount + v1MemMount + unified,
		files: map[string]string{
			"sys/fs/cgroup/unified/cpu.max":                  "10000 100000\n", // not the cpu controller's hierarchy here
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":     "-1\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us":    "100000\n",
			"sys/fs/cgroup/cpu,cpuacct/tg/cpu.cfs_quota_us":  "50000\n",
			"sys/fs/cgroup/cpu,cpuacct/tg/cpu.cfs_period_us": "100000\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":     "9223372036854771712\n",
			"sys/fs/cgroup/memory/a/memory.limit_in_bytes":   "268435456\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "9223372036854771712\n",
		},
		want: Limits{CPU: 0.5, Memory: 256 << 20},
	}, {
		name:   "v1 mounted at the group itself (a container without a namespace)",
		groups: "3:cpu,cpuacct:/docker/abc\n",
		mounts: "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,relatime - cgroup cgroup rw,cpu,cpuacct\n",
		files: map[string]string{
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "200000\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
		},
		want: Limits{CPU: 2},
	}, {
		name:   "a mount point with a space",
		groups: "0::/g\n",
		mounts: `31 23 0:26 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n",
		files:  map[string]string{"sys/fs/my cgroup/g/cpu.max": "25000 100000\n"},
		want:   Limits{CPU: 0.25},
	}, {
		name:   "no limits",
		groups: "0::/\n",
		mounts: v2Mount,
		files:  map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n", "sys/fs/cgroup/memory.max": "max\n"},
	}, {
		name:   "malformed files",
		groups: "0::/\n",
		mounts: v2Mount,
		files:  map[string]string{"sys/fs/cgroup/cpu.max": "lots\n", "sys/fs/cgroup/memory.max": "-1\n"},
	}, {
		name:   "no cgroup file system mounted",
		groups: "0::/\n",
		mounts: rootfsMount,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			files := map[string]string{"proc/self/cgroup": tt.groups, "proc/self/mountinfo": tt.mounts}
			for p, c := range tt.files {
				files[p] = c
			}
			for p, c := range files {
				p = filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := readFrom(root); got != tt.want {
				t.Errorf("readFrom = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := readFrom(t.TempDir()); got != (Limits{}) {
		t.Errorf("without /proc: %+v, want none", got)
	}
}

func TestParseMemory(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"max\n":                 0, // v2: none
		"9223372036854771712\n": 0, // v1: none
		"536870912\n":           512 << 20,
		"":                      0,
		"-1":                    0,
	} {
		if got := parseMemory(in); got != want {
			t.Errorf("parseMemory(%q) = %d, want %d", in, got, want)
		}
	}
}

// helperEnv makes the test binary print Read() as JSON and exit
// (TestReadInAGroup runs it inside a group).
const helperEnv = "TOLLGATE_CGROUP_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := json.NewEncoder(os.Stdout).Encode(Read()); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestReadInAGroup makes a real cgroup v1 CPU group with a quota of half
// a CPU beneath the process's own (as systemd or a container runtime
// without a namespace would), runs a process in it and checks that the
// process reads the quota. It needs root and a writable v1 cpu hierarchy,
// and skips otherwise (v2 forbids moving a process into a child of a
// group that has others, so it is covered by TestReadFrom only).
func TestReadInAGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a cgroup")
	}
	groups, err1 := os.ReadFile("/proc/self/cgroup")
	mounts, err2 := os.ReadFile("/proc/self/mountinfo")
	if err1 != nil || err2 != nil {
		t.Skip("no /proc/self/cgroup or mountinfo")
	}
	d := groupDirs("/", groups, parseMountinfo(mounts), "cpu")
	if !d.v1 || len(d.paths) == 0 {
		t.Skip("no cgroup v1 cpu hierarchy")
	}
	dir := filepath.Join(d.paths[0], "tollgate-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	for f, v := range map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Skipf("cannot set %s: %v", f, err)
		}
	}
	// The shell moves itself into the group, then becomes the helper.
	cmd := exec.Command("sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2" -test.run '^$'`, "sh", dir, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	var got Limits
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("helper printed %q: %v", out, err)
	}
	if got.CPU != 0.5 {
		t.Errorf("CPU read in the group = %v, want 0.5 (%s)", got.CPU, fmt.Sprint(d.paths))
	}
}
