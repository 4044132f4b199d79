package profiles

import "testing"

func TestIsRuntimeVolatile(t *testing.T) {
	for key, want := range map[string]bool{
		"volatile.last_state.power": true, "volatile.eth0.hwaddr": true, "volatile.eth0.host_name": true,
		"volatile.apply_template": true, "volatile.lite.creating": true,
		"volatile.base_image": false, "volatile.uuid": false, "volatile.idmap.base": false,
		"volatile.idmap.next": false, "limits.memory": false, "user.volatile.x": false,
	} {
		if got := IsRuntimeVolatile(key); got != want {
			t.Errorf("IsRuntimeVolatile(%q) = %v, want %v", key, got, want)
		}
	}
}
