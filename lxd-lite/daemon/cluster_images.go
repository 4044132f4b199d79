package daemon

import (
	"context"
	"slices"

	"lite/client"
	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/cluster"
)

// imagePeers is the image service's view of the other members: the shared images_nodes table
// says who holds an image's files; any other online member is asked after them, since a
// member may hold files it never recorded (images it had before it joined).
type imagePeers struct {
	cl *cluster.Service
	db *db.DB
}

func (p imagePeers) Enabled() bool { return p.cl.Enabled() }

// Holders lists the online members other than this one, recorded holders first.
func (p imagePeers) Holders(ctx context.Context, fp string) ([]string, error) {
	local := p.cl.LocalName()
	members, err := p.cl.Members(ctx)
	if err != nil {
		return nil, err
	}
	recorded, err := p.db.ImageNodes(ctx, fp)
	if err != nil {
		return nil, err
	}
	var first, rest []string
	for _, m := range members {
		switch {
		case m.ServerName == local || m.Status != api.ClusterMemberOnline:
		case slices.Contains(recorded, m.ServerName):
			first = append(first, m.ServerName)
		default:
			rest = append(rest, m.ServerName)
		}
	}
	return append(first, rest...), nil
}

func (p imagePeers) Connect(ctx context.Context, member string) (*client.Client, error) {
	return p.cl.Connect(ctx, member)
}

// Record notes that this member holds fp's files.
func (p imagePeers) Record(ctx context.Context, fp string) error {
	return p.db.AddImageNode(ctx, fp, p.cl.LocalName())
}
