module example.internal/partners-engine

go 1.22
