// A Go HTTP server and client with net/http only, for moat-ins's e2e test.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
)

func main() {
	switch os.Args[1] {
	case "serve":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from go\n")
		})
		fmt.Println("serving", os.Args[2])
		if err := http.ListenAndServe(os.Args[2], nil); err != nil {
			fmt.Println("serve:", err)
			os.Exit(1)
		}
	case "get":
		resp, err := http.Get(os.Args[2])
		if err != nil {
			fmt.Println("get:", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("status %d body %q\n", resp.StatusCode, body)
	case "raw":
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
		fmt.Println("raw", fd, err)
	}
}
