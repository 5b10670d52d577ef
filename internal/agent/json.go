package agent

import "encoding/json"

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // api.AgentReport always marshals
	}
	return string(b)
}
