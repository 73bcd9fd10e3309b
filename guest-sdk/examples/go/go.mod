module faasrt.dev/examples

go 1.27

require faasrt.dev/guest v0.0.0

// The SDK is built from this repository, never downloaded.
replace faasrt.dev/guest => ../../go
