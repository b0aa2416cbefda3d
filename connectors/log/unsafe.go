package log

import "unsafe"

// unsafePointer converts a pointer to a slice of an int64-based type into an
// unsafe.Pointer, so the slice can be viewed as []int64 without copying.
func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }
