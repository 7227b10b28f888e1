module github.com/ax-secrets/ax-secrets/sdk-shims/go

go 1.22
