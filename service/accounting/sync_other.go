//go:build !linux

package accounting

import "os"

// syncData makes the data appended to f durable.
func syncData(f *os.File) error { return f.Sync() }
