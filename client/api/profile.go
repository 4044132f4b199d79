package api

// ProfilePut is the writable part of a profile.
type ProfilePut struct {
	Config      map[string]string            `json:"config"`
	Description string                       `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
}

// Profile is GET /1.0/profiles/{name}.
type Profile struct {
	ProfilePut
	Name   string   `json:"name"`
	UsedBy []string `json:"used_by"`
}

// ProfilesPost is POST /1.0/profiles.
type ProfilesPost struct {
	ProfilePut
	Name string `json:"name"`
}

// ProfilePost renames a profile (POST /1.0/profiles/{name}).
type ProfilePost struct {
	Name string `json:"name"`
}
