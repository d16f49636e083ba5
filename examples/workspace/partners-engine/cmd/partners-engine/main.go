// Command partners-engine serves partner records on $PARTNERS_PORT.
package main

import (
	"log"
	"net/http"
	"os"

	"example.internal/partners-engine/internal/partners"
)

func main() {
	port := os.Getenv("PARTNERS_PORT")
	if port == "" {
		port = "8080"
	}
	store, err := partners.Load("fixtures/partners.json")
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/partners", store)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
