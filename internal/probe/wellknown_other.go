//go:build !linux && !windows

package probe

const abstractDefault = ""
