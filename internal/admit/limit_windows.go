package admit

// FileLimit is -1 on Windows: handles have no per-process limit to derive a
// cap from.
func FileLimit() int { return -1 }
