package nexmark

import "errors"

// ErrInvalidConfig is wrapped by NewGenerator when a Config field is out of
// range.
var ErrInvalidConfig = errors.New("nexmark: invalid config")
