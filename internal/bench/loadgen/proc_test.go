package loadgen

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// TestProcTree_CountsChildren checks that a server of several processes is
// measured whole: a child this test starts is in its tree, and the tree's
// CPU and peak RSS are at least the parent's own.
func TestProcTree_CountsChildren(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	me := os.Getpid()
	tree := procTree(me)
	if tree[0] != me || !slices.Contains(tree, child.Process.Pid) {
		t.Fatalf("procTree(%d) = %v, want it first and the child %d in it", me, tree, child.Process.Pid)
	}
	if slices.Contains(procTree(child.Process.Pid), me) {
		t.Fatal("a child's tree holds its parent")
	}

	own, err := procStatusBytes(me, "VmHWM:")
	if err != nil {
		t.Fatal(err)
	}
	childRSS, err := procStatusBytes(child.Process.Pid, "VmHWM:")
	if err != nil {
		t.Fatal(err)
	}
	// Peaks only grow: the whole, read last, holds at least both.
	whole, err := procPeakRSS(me)
	if err != nil {
		t.Fatal(err)
	}
	if whole < own+childRSS {
		t.Fatalf("tree peak RSS %d < own %d + child %d", whole, own, childRSS)
	}
	if _, err := procCPU(me); err != nil {
		t.Fatal(err)
	}
	if _, err := procCPU(0); err == nil {
		t.Fatal("procCPU(0): no error")
	}
}
