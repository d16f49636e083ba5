// Package partners holds the partner records the engine serves.
package partners

import (
	"encoding/json"
	"net/http"
	"os"
)

// Partner is one pharmacy or clinic we exchange data with.
type Partner struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Store serves the records it loaded as JSON.
type Store struct{ list []Partner }

// Load reads partner records from a JSON file.
func Load(path string) (*Store, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Store{}
	return s, json.Unmarshal(b, &s.list)
}

func (s *Store) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(s.list)
}
