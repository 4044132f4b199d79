package db

import (
	"encoding/json"
	"fmt"
)

// Image properties are stored as JSON text: they are always read and written whole. (Instance
// and profile config and devices have tables of their own since schema update 1.)

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

func configFrom(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}
