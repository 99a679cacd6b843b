package s3

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"
)

// bucketConfig is what S3 keeps about a bucket (DIR/s3/.meta/<bucket>/bucket.json).
type bucketConfig struct {
	Created time.Time `json:"created"`
	// EventBridge is set when the notification configuration holds an
	// EventBridgeConfiguration: the bucket's object events go to EventBridge.
	EventBridge bool `json:"eventBridge"`
	// Notification is the NotificationConfiguration document as the client put it.
	Notification string `json:"notification,omitempty"`
}

// config reads a bucket's record; a bucket made by hand (a folder created in DIR/s3) has none,
// and its folder's time stands for its creation.
func (s *Service) config(bucket string) (bucketConfig, error) {
	var c bucketConfig
	b, err := s.root.ReadFile(bucketConfigPath(bucket))
	if err == nil && json.Unmarshal(b, &c) == nil && !c.Created.IsZero() {
		return c, nil
	}
	info, err := s.root.Stat(bucket)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c, errNoSuchBucket
		}
		return c, fmt.Errorf("s3: %w", err)
	}
	c.Created = info.ModTime().UTC()
	return c, nil
}

func (s *Service) saveConfig(bucket string, c bucketConfig) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return s.writeAtomic(bucketConfigPath(bucket), b)
}

type owner struct {
	ID          string
	DisplayName string
}

// theOwner owns every bucket: a local endpoint has one user.
var theOwner = owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "stepline"}

type bucketEntry struct {
	Name         string
	CreationDate string
}

type listBucketsResult struct {
	XMLName xml.Name      `xml:"ListAllMyBucketsResult"`
	NS      string        `xml:"xmlns,attr"`
	Owner   owner         `xml:"Owner"`
	Buckets []bucketEntry `xml:"Buckets>Bucket"`
}

func (s *Service) listBuckets(w http.ResponseWriter, r *request) error {
	entries, err := fsReadDir(s.root, ".")
	if err != nil {
		return fmt.Errorf("s3: listing buckets: %w", err)
	}
	res := listBucketsResult{NS: s3NS, Owner: theOwner, Buckets: []bucketEntry{}}
	for _, e := range entries {
		if !e.IsDir() || checkBucketName(e.Name()) != nil || s.remotes[e.Name()] != nil {
			continue // a bound bucket's name is the endpoint's bucket, whatever folder has it
		}
		c, err := s.config(e.Name())
		if errors.Is(err, errNoSuchBucket) {
			continue // deleted since it was listed
		}
		if err != nil {
			return err
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: e.Name(), CreationDate: isoTime(c.Created)})
	}
	// Bound buckets are listed: to the client they are buckets of this endpoint, which it
	// reads and writes like the others (and `aws s3 ls` shows).
	res.Buckets = append(res.Buckets, s.boundBuckets()...)
	slices.SortFunc(res.Buckets, func(a, b bucketEntry) int { return strings.Compare(a.Name, b.Name) })
	return writeXML(w, res)
}

func (s *Service) createBucket(w http.ResponseWriter, r *request) error {
	// The body, if any, is a CreateBucketConfiguration naming a location; every bucket is in
	// the service's region.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxXMLBody))
	err := s.root.Mkdir(r.bucket, 0o755)
	if errors.Is(err, fs.ErrExist) {
		if s.o.Region == "us-east-1" {
			// S3 in us-east-1 answers a second creation by its owner with success.
			w.Header().Set("Location", "/"+r.bucket)
			w.WriteHeader(http.StatusOK)
			return nil
		}
		return errOwnedByYou
	}
	if err != nil {
		return fmt.Errorf("s3: creating bucket %s: %w", r.bucket, err)
	}
	// A record left by a bucket of the same name deleted by hand is not this bucket's.
	if err := s.root.RemoveAll(bucketMetaDir(r.bucket)); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if err := s.saveConfig(r.bucket, bucketConfig{Created: s.o.Clock.Now().UTC()}); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+r.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) headBucket(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	w.Header().Set("X-Amz-Bucket-Region", s.o.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket removes an empty bucket. Its folders are removed from the leaves up with
// Remove, which fails on a folder that is not empty: an object written meanwhile (by another
// request or another node) is never lost, and the deletion fails with BucketNotEmpty.
func (s *Service) deleteBucket(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	if err := s.removeEmptyTree(r.bucket); err != nil {
		return err
	}
	if err := s.root.RemoveAll(bucketMetaDir(r.bucket)); err != nil {
		s.o.Logger.Warn("s3: removing a deleted bucket's records", "bucket", r.bucket, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) removeEmptyTree(dir string) error {
	entries, err := fsReadDir(s.root, dir)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			return errBucketNotEmpty
		}
		if err := s.removeEmptyTree(dir + "/" + e.Name()); err != nil {
			return err
		}
	}
	if err := s.root.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errBucketNotEmpty
	}
	return nil
}

func (s *Service) getLocation(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	loc := s.o.Region
	if loc == "us-east-1" {
		loc = "" // S3's name for us-east-1 here
	}
	return writeXML(w, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		NS      string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{NS: s3NS, Value: loc})
}

// notificationConfig is the part of a NotificationConfiguration the service reads.
type notificationConfig struct {
	XMLName     xml.Name  `xml:"NotificationConfiguration"`
	EventBridge *struct{} `xml:"EventBridgeConfiguration"`
}

func (s *Service) putNotification(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil || len(b) > maxXMLBody {
		return errMalformedXML
	}
	var n notificationConfig
	if err := xml.Unmarshal(b, &n); err != nil {
		return errMalformedXML
	}
	c, err := s.config(r.bucket)
	if err != nil {
		return err
	}
	c.EventBridge, c.Notification = n.EventBridge != nil, string(b)
	if err := s.saveConfig(r.bucket, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getNotification(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	c, err := s.config(r.bucket)
	if err != nil {
		return err
	}
	if c.Notification == "" {
		return writeXML(w, struct {
			XMLName xml.Name `xml:"NotificationConfiguration"`
			NS      string   `xml:"xmlns,attr"`
		}{NS: s3NS})
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, c.Notification)
	return nil
}
