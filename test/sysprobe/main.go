// Command sysprobe is pushed into a container by the end-to-end tests to try system calls that
// no tool of the image makes, and print what the kernel (or the seccomp policy) answered:
//
//	sysprobe fsopen tmpfs | fsmount tmpfs | open_tree PATH | mount_setattr PATH
//
// It prints "CALL: ok" or "CALL: ERRNO-NAME" and exits 0 (the test reads the line).
package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sysprobe fsopen|fsmount|open_tree|mount_setattr ARG")
		os.Exit(2)
	}
	call, arg := os.Args[1], os.Args[2]
	var err error
	switch call {
	case "fsopen":
		var fd int
		if fd, err = unix.Fsopen(arg, unix.FSOPEN_CLOEXEC); err == nil {
			unix.Close(fd)
		}
	case "fsmount":
		err = fsmount(arg)
	case "open_tree":
		var fd int
		if fd, err = unix.OpenTree(unix.AT_FDCWD, arg, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC); err == nil {
			unix.Close(fd)
		}
	case "mount_setattr":
		err = unix.MountSetattr(unix.AT_FDCWD, arg, 0, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID})
	default:
		fmt.Fprintln(os.Stderr, "unknown call", call)
		os.Exit(2)
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		fmt.Printf("%s: %s\n", call, unix.ErrnoName(errno))
		return
	}
	if err != nil {
		fmt.Printf("%s: %v\n", call, err)
		return
	}
	fmt.Printf("%s: ok\n", call)
}

// fsmount makes a detached mount of a new fstype file system through the new mount API.
func fsmount(fstype string) error {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	if err := unix.FsconfigCreate(fs); err != nil {
		return err
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	return unix.Close(m)
}
