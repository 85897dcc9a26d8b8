package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procStat returns the fields of /proc/<pid>/stat after the command name
// (which may hold spaces): f[1] is the parent's pid, f[11] and f[12] the
// user and system CPU times.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return f, nil
}

// procTree returns pid and its descendants: a server of several processes
// (gunicorn's master and workers) is measured whole.
func procTree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(p); err == nil {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				children[pp] = append(children[pp], p)
			}
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// procCPU returns the CPU time (user + system) a process and its
// descendants have used so far.
func procCPU(pid int) (time.Duration, error) {
	user, sys, err := procTimes(pid)
	return user + sys, err
}

// procTimes returns the user and system CPU times a process and its
// descendants have used so far.
func procTimes(pid int) (user, sys time.Duration, err error) {
	if pid == 0 {
		return 0, 0, errors.New("no pid")
	}
	var uticks, sticks int64
	for _, p := range procTree(pid) {
		f, err := procStat(p)
		if err != nil {
			if p == pid {
				return 0, 0, err
			}
			continue // a worker that just exited
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("bad /proc/%d/stat", p)
		}
		uticks += utime
		sticks += stime
	}
	return time.Duration(uticks) * clockTick, time.Duration(sticks) * clockTick, nil
}

// procPeakRSS returns the sum of the peak resident set sizes (VmHWM) of a
// process and its descendants, in bytes.
func procPeakRSS(pid int) (int64, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	var sum int64
	for _, p := range procTree(pid) {
		n, err := procStatusBytes(p, "VmHWM:")
		if err != nil && p == pid {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// procStatusBytes reads a size line ("VmRSS:   1234 kB") of a process's
// /proc status, in bytes.
func procStatusBytes(pid int, field string) (int64, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
