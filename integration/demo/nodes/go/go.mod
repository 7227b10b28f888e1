module github.com/ax-secrets/ax-secrets/integration/demo/nodes/go

go 1.22

require github.com/ax-secrets/ax-secrets/sdk-shims/go v0.0.0

replace github.com/ax-secrets/ax-secrets/sdk-shims/go => ../../../../sdk-shims/go
