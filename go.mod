module github.com/tunnelscope/tunnelscope

go 1.26.0

require github.com/google/gopacket v1.1.19

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	golang.org/x/net v0.0.0-20190620200207-3b0461eec859 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.47.0 // indirect
)
