package imagesvc

import (
	"context"
	"errors"
	"fmt"
	"os"

	"lite/client"
	"lite/client/api"
	"lite/images"
)

// Peers are the other members of a cluster, seen from the image service: the images table is
// shared, but each member keeps the files of the images it used. A member that needs an
// image it lacks fetches the files from one that has them.
type Peers interface {
	// Enabled reports whether this daemon is a cluster member (else nothing is fetched).
	Enabled() bool
	// Holders lists the online members (not this one) that may hold fp's files, best first.
	Holders(ctx context.Context, fp string) ([]string, error)
	// Connect returns an API client of a member (the cluster certificate authenticates it).
	Connect(ctx context.Context, member string) (*client.Client, error)
	// Record notes that this member now holds fp's files.
	Record(ctx context.Context, fp string) error
}

// ensureLocal makes sure the store holds fp's files: on a cluster member that lacks them,
// they are fetched from the first holder that has them, and checked against the fingerprint
// like any import (a member cannot hand over other content under that name).
func (s *Service) ensureLocal(ctx context.Context, fp string, progress func(string)) error {
	if _, err := s.Store.Files(fp); err == nil || s.Peers == nil || !s.Peers.Enabled() {
		return nil
	}
	holders, err := s.Peers.Holders(ctx, fp)
	if err != nil {
		return fmt.Errorf("image %s: find a cluster member that has it: %w", fp, err)
	}
	var errs []error
	for _, member := range holders {
		if progress != nil {
			progress(fmt.Sprintf("fetching image %.12s from cluster member %s", fp, member))
		}
		err := s.fetchFrom(ctx, member, fp)
		if err == nil {
			return s.Peers.Record(ctx, fp)
		}
		errs = append(errs, fmt.Errorf("from %s: %w", member, err))
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return fmt.Errorf("image %.12s: this member lacks its files and no online cluster member has them: %w", fp, api.ErrUnavailable)
	}
	return fmt.Errorf("image %.12s: fetch its files: %w", fp, errors.Join(errs...))
}

// fetchFrom exports fp from member into a scratch dir and adds it to the store.
func (s *Service) fetchFrom(ctx context.Context, member, fp string) error {
	c, err := s.Peers.Connect(ctx, member)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.TmpDir, 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(s.TmpDir, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files, err := c.ExportImage(ctx, fp, dir)
	if err != nil {
		return err
	}
	var got string
	switch len(files) {
	case 1:
		got, _, err = s.Store.Add(ctx, files[0])
	case 2:
		got, _, err = s.Store.AddSplit(ctx, files[0], files[1])
	default:
		return fmt.Errorf("export sent %d files: %w", len(files), api.ErrInvalid)
	}
	if got != "" && got != fp {
		if err == nil { // stored just now: it goes again (an image already here stays)
			if derr := s.Store.Delete(got); derr != nil && s.Log != nil {
				s.Log.Error("remove a fetched image that is not the one asked for", "fingerprint", got, "err", derr)
			}
		}
		return fmt.Errorf("the member sent image %.12s, not %.12s: %w", got, fp, api.ErrInvalid)
	}
	if errors.Is(err, images.ErrExists) {
		return nil // a concurrent fetch stored it first
	}
	if err != nil {
		return apiKind(err)
	}
	return nil
}
