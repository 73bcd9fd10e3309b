module faasrt.dev/guest

go 1.27
