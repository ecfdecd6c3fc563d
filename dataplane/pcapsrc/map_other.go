//go:build !linux

package pcapsrc

import "os"

var mapMin int64 = 1 << 20

// mapFile maps nothing here: captures are read.
func mapFile(*os.File) []byte { return nil }

func unmap([]byte) {}
