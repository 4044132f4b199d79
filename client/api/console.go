package api

// InstanceConsolePost is POST /1.0/instances/{name}/console: attach to the console.
type InstanceConsolePost struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Type   string `json:"type"` // "console" (the only one for containers)
}
