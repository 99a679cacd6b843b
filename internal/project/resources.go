package project

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bucket is one entry of buckets: a bucket of the local S3, empty or filled from a folder, or
// one bound to an external S3 endpoint.
type Bucket struct {
	Name string
	// From is the folder (absolute) whose files Deploy puts as objects; "" for none.
	From string
	// Endpoint is the URL of the S3 API that holds the bucket instead (AWS, or any server
	// speaking S3); Region and BucketName are where and what it is called there (defaults:
	// the server's region, Name). Deploy leaves such a bucket alone: it is the endpoint's.
	Endpoint   string
	Region     string
	BucketName string
	// EventBridge is notifications: eventbridge: the bucket's object events go to EventBridge
	// (PutBucketNotificationConfiguration with an EventBridgeConfiguration).
	EventBridge bool
	line        int
}

// Glue is the glue section: what CreateDatabase, CreateCrawler and CreateJob take, each
// sorted by name.
type Glue struct {
	Databases []*GlueDatabase
	Crawlers  []*GlueCrawler
	Jobs      []*GlueJob
}

// GlueDatabase is one entry of glue.databases (DatabaseInput).
type GlueDatabase struct {
	Name        string
	Description string
	LocationURI string
	Parameters  map[string]string
	line        int
}

// GlueCrawler is one entry of glue.crawlers (CreateCrawler's request).
type GlueCrawler struct {
	Name         string
	DatabaseName string
	// Role is "" for the project's default role.
	Role        string
	Description string
	TablePrefix string
	S3Targets   []S3Target
	// UpdateBehavior and DeleteBehavior are the SchemaChangePolicy, with Glue's defaults.
	UpdateBehavior, DeleteBehavior string
	line                           int
}

// S3Target is one of a crawler's targets.s3Targets.
type S3Target struct {
	Path       string
	Exclusions []string
}

// GlueJob is one entry of glue.jobs (CreateJob's request).
type GlueJob struct {
	Name string
	// CommandName is pythonshell or glueetl; PythonVersion defaults as Glue's does.
	CommandName, ScriptLocation, PythonVersion string
	DefaultArguments                           map[string]string
	// Timeout is in minutes (Glue's default 2880); MaxConcurrentRuns defaults to 1.
	Timeout, MaxRetries, MaxConcurrentRuns int
	// Role is "" for the project's default role.
	Role        string
	Description string
	line        int
}

var (
	bucketKeys           = []string{"from", "endpoint", "region", "bucketName", "notifications"}
	glueKeys             = []string{"databases", "crawlers", "jobs"}
	databaseKeys         = []string{"description", "locationUri", "parameters"}
	crawlerKeys          = []string{"databaseName", "role", "description", "targets", "tablePrefix", "schemaChangePolicy"}
	targetsKeys          = []string{"s3Targets"}
	s3TargetKeys         = []string{"path", "exclusions"}
	schemaChangeKeys     = []string{"updateBehavior", "deleteBehavior"}
	jobKeys              = []string{"command", "defaultArguments", "timeout", "maxRetries", "maxConcurrentRuns", "role", "description"}
	commandKeys          = []string{"name", "scriptLocation", "pythonVersion"}
	bucketName           = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	updateBehaviors      = []string{"UPDATE_IN_DATABASE", "LOG"}
	deleteBehaviors      = []string{"DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE", "LOG"}
	jobCommands          = []string{"pythonshell", "glueetl"}
	pythonShellVersions  = []string{"3", "3.9"}
	glueDefaultTimeout   = 2880
	glueMaxTimeout       = 10080
	glueMaxRetries       = 10
	glueMaxConcurrentRun = 1000
)

// glueName is Glue's rule for the names of databases, crawlers and jobs: 1 to 255 characters
// on one line.
func glueName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "\r\n\t")
}

func (p *parser) bucket(name string, key, v *yaml.Node) (*Bucket, error) {
	path := "buckets." + name
	if !bucketName.MatchString(name) || strings.Contains(name, "..") {
		return nil, p.errAt(key, path, "invalid bucket name: 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit")
	}
	b := &Bucket{Name: name, line: key.Line}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return b, nil
	}
	f, err := p.fields(v, path, bucketKeys)
	if err != nil {
		return nil, err
	}
	if n := f["notifications"]; n != nil {
		if f["endpoint"] != nil {
			return nil, p.errAt(n, path+".notifications", "not with endpoint: the endpoint's bucket sends its own events")
		}
		s, err := p.str(n, path+".notifications")
		if err != nil {
			return nil, err
		}
		if s != "eventbridge" {
			return nil, p.errAt(n, path+".notifications", "must be eventbridge (the only destination Stepline sends object events to)")
		}
		b.EventBridge = true
	}
	if n := f["endpoint"]; n != nil {
		return p.remoteBucket(b, path, f, n)
	}
	for _, k := range []string{"region", "bucketName"} {
		if n := f[k]; n != nil {
			return nil, p.errAt(n, path+"."+k, "only with endpoint")
		}
	}
	if n := f["from"]; n != nil {
		from, err := p.str(n, path+".from")
		if err != nil {
			return nil, err
		}
		if b.From, err = filepath.Abs(p.path(from)); err != nil {
			return nil, p.errAt(n, path+".from", "%v", err)
		}
		st, err := os.Stat(b.From)
		if err != nil {
			return nil, p.errAt(n, path+".from", "%s", fileError(from, err))
		}
		if !st.IsDir() {
			return nil, p.errAt(n, path+".from", "%s is not a folder", from)
		}
	}
	return b, nil
}

// remoteBucketName is what S3 accepts as the name of an existing bucket, old rules (capitals,
// underscores, as us-east-1 buckets made before 2018 may have) included.
var remoteBucketName = regexp.MustCompile(`^[a-zA-Z0-9._-]{3,255}$`)

// remoteBucket reads a bucket bound to an endpoint, as functions are: endpoint, region, and
// the name there. The credentials are the server's environment's, never the project's.
func (p *parser) remoteBucket(b *Bucket, path string, f map[string]*yaml.Node, n *yaml.Node) (*Bucket, error) {
	if fn := f["from"]; fn != nil {
		return nil, p.errAt(fn, path+".from", "not with endpoint: a bound bucket's objects are the endpoint's, not filled from a folder")
	}
	var err error
	if b.Endpoint, err = p.str(n, path+".endpoint"); err != nil {
		return nil, err
	}
	u, err := url.Parse(b.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, p.errAt(n, path+".endpoint", "must be an http:// or https:// URL of an S3 API, not %q", b.Endpoint)
	}
	if err := p.optStr(f, path, "region", &b.Region); err != nil {
		return nil, err
	}
	b.BucketName = b.Name
	if err := p.optStr(f, path, "bucketName", &b.BucketName); err != nil {
		return nil, err
	}
	if !remoteBucketName.MatchString(b.BucketName) {
		return nil, p.errAt(f["bucketName"], path+".bucketName", "invalid bucket name: %q", b.BucketName)
	}
	return b, nil
}

// glue reads the glue section.
func (p *parser) glue(n *yaml.Node) (*Glue, error) {
	f, err := p.fields(n, "glue", glueKeys)
	if err != nil {
		return nil, err
	}
	g := &Glue{}
	if n := f["databases"]; n != nil {
		if err := p.entries(n, "glue.databases", func(name string, key, v *yaml.Node) error {
			d, err := p.glueDatabase(name, key, v)
			if err == nil {
				g.Databases = append(g.Databases, d)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if n := f["crawlers"]; n != nil {
		if err := p.entries(n, "glue.crawlers", func(name string, key, v *yaml.Node) error {
			c, err := p.glueCrawler(name, key, v)
			if err == nil {
				g.Crawlers = append(g.Crawlers, c)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if n := f["jobs"]; n != nil {
		if err := p.entries(n, "glue.jobs", func(name string, key, v *yaml.Node) error {
			j, err := p.glueJob(name, key, v)
			if err == nil {
				g.Jobs = append(g.Jobs, j)
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(g.Databases, func(a, b *GlueDatabase) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(g.Crawlers, func(a, b *GlueCrawler) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(g.Jobs, func(a, b *GlueJob) int { return strings.Compare(a.Name, b.Name) })
	return g, nil
}

// optStr reads the string at key of f, if given.
func (p *parser) optStr(f map[string]*yaml.Node, path, key string, dst *string) error {
	n := f[key]
	if n == nil {
		return nil
	}
	s, err := p.str(n, path+"."+key)
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// optInt reads the whole number at key of f within [lo, hi], if given.
func (p *parser) optInt(f map[string]*yaml.Node, path, key string, lo, hi int, dst *int) error {
	n := f[key]
	if n == nil {
		return nil
	}
	v, err := p.integer(n, path+"."+key, lo, hi)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// oneOf reads the string at key of f, which must be one of allowed, if given.
func (p *parser) oneOf(f map[string]*yaml.Node, path, key string, allowed []string, dst *string) error {
	if err := p.optStr(f, path, key, dst); err != nil {
		return err
	}
	if f[key] != nil && !slices.Contains(allowed, *dst) {
		return p.errAt(f[key], path+"."+key, "must be %s, not %q", strings.Join(allowed, " or "), *dst)
	}
	return nil
}

// roleName is what Glue takes as a role: an IAM role ARN, or a role's name.
var roleName = regexp.MustCompile(`^[a-zA-Z_0-9+=,.@\-/]{1,512}$`)

func (p *parser) role(f map[string]*yaml.Node, path string, dst *string) error {
	if err := p.optStr(f, path, "role", dst); err != nil {
		return err
	}
	if f["role"] != nil && !roleArn.MatchString(*dst) && !roleName.MatchString(*dst) {
		return p.errAt(f["role"], path+".role", "not an IAM role ARN or name: %q", *dst)
	}
	return nil
}

func (p *parser) glueDatabase(name string, key, v *yaml.Node) (*GlueDatabase, error) {
	path := "glue.databases." + name
	if !glueName(name) {
		return nil, p.errAt(key, path, "invalid database name: 1 to 255 characters on one line")
	}
	if name != strings.ToLower(name) {
		return nil, p.errAt(key, path, "invalid database name: Glue keeps database names in lower case (%s)", strings.ToLower(name))
	}
	d := &GlueDatabase{Name: name, line: key.Line}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return d, nil
	}
	f, err := p.fields(v, path, databaseKeys)
	if err != nil {
		return nil, err
	}
	if err := p.optStr(f, path, "description", &d.Description); err != nil {
		return nil, err
	}
	if err := p.optStr(f, path, "locationUri", &d.LocationURI); err != nil {
		return nil, err
	}
	if n := f["parameters"]; n != nil {
		if d.Parameters, err = p.stringMap(n, path+".parameters"); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// s3Path checks an s3://bucket/key path.
func (p *parser) s3Path(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	bucket, _, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", p.errAt(n, key, "must be an s3://BUCKET/PATH path, not %q", s)
	}
	return s, nil
}

func (p *parser) glueCrawler(name string, key, v *yaml.Node) (*GlueCrawler, error) {
	path := "glue.crawlers." + name
	if !glueName(name) {
		return nil, p.errAt(key, path, "invalid crawler name: 1 to 255 characters on one line")
	}
	f, err := p.fields(v, path, crawlerKeys)
	if err != nil {
		return nil, err
	}
	c := &GlueCrawler{Name: name, line: key.Line, UpdateBehavior: "UPDATE_IN_DATABASE", DeleteBehavior: "DEPRECATE_IN_DATABASE"}
	if f["databaseName"] == nil {
		return nil, p.errAt(v, path+".databaseName", "missing: the database the crawler writes its tables to")
	}
	if err := p.optStr(f, path, "databaseName", &c.DatabaseName); err != nil {
		return nil, err
	}
	if err := p.role(f, path, &c.Role); err != nil {
		return nil, err
	}
	if err := p.optStr(f, path, "description", &c.Description); err != nil {
		return nil, err
	}
	if err := p.optStr(f, path, "tablePrefix", &c.TablePrefix); err != nil {
		return nil, err
	}
	if n := f["schemaChangePolicy"]; n != nil {
		sf, err := p.fields(n, path+".schemaChangePolicy", schemaChangeKeys)
		if err != nil {
			return nil, err
		}
		if err := p.oneOf(sf, path+".schemaChangePolicy", "updateBehavior", updateBehaviors, &c.UpdateBehavior); err != nil {
			return nil, err
		}
		if err := p.oneOf(sf, path+".schemaChangePolicy", "deleteBehavior", deleteBehaviors, &c.DeleteBehavior); err != nil {
			return nil, err
		}
	}
	tn := f["targets"]
	if tn == nil {
		return nil, p.errAt(v, path+".targets", "missing: targets.s3Targets, the S3 paths to crawl")
	}
	tf, err := p.fields(tn, path+".targets", targetsKeys)
	if err != nil {
		return nil, err
	}
	sn := tf["s3Targets"]
	if sn == nil || sn.Kind != yaml.SequenceNode || len(sn.Content) == 0 {
		at := sn
		if at == nil {
			at = tn
		}
		return nil, p.errAt(at, path+".targets.s3Targets", "must be a list of one or more {path, exclusions}")
	}
	for i, item := range sn.Content {
		ipath := fmt.Sprintf("%s.targets.s3Targets[%d]", path, i)
		itf, err := p.fields(item, ipath, s3TargetKeys)
		if err != nil {
			return nil, err
		}
		var t S3Target
		if itf["path"] == nil {
			return nil, p.errAt(item, ipath+".path", "missing: the s3://BUCKET/PREFIX to crawl")
		}
		if t.Path, err = p.s3Path(itf["path"], ipath+".path"); err != nil {
			return nil, err
		}
		if n := itf["exclusions"]; n != nil {
			if t.Exclusions, err = p.stringList(n, ipath+".exclusions"); err != nil {
				return nil, err
			}
		}
		c.S3Targets = append(c.S3Targets, t)
	}
	return c, nil
}

// stringList reads a sequence of strings.
func (p *parser) stringList(n *yaml.Node, key string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errAt(n, key, "must be a list of strings")
	}
	var out []string
	for i, c := range n.Content {
		s, err := p.str(resolve(c), fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *parser) glueJob(name string, key, v *yaml.Node) (*GlueJob, error) {
	path := "glue.jobs." + name
	if !glueName(name) {
		return nil, p.errAt(key, path, "invalid job name: 1 to 255 characters on one line")
	}
	f, err := p.fields(v, path, jobKeys)
	if err != nil {
		return nil, err
	}
	j := &GlueJob{Name: name, line: key.Line, Timeout: glueDefaultTimeout, MaxConcurrentRuns: 1}
	cn := f["command"]
	if cn == nil {
		return nil, p.errAt(v, path+".command", "missing: {name: pythonshell or glueetl, scriptLocation: s3://BUCKET/SCRIPT}")
	}
	cf, err := p.fields(cn, path+".command", commandKeys)
	if err != nil {
		return nil, err
	}
	if cf["name"] == nil {
		return nil, p.errAt(cn, path+".command.name", "missing: pythonshell or glueetl")
	}
	if err := p.oneOf(cf, path+".command", "name", jobCommands, &j.CommandName); err != nil {
		return nil, err
	}
	if cf["scriptLocation"] == nil {
		return nil, p.errAt(cn, path+".command.scriptLocation", "missing: the script's s3://BUCKET/KEY")
	}
	if j.ScriptLocation, err = p.s3Path(cf["scriptLocation"], path+".command.scriptLocation"); err != nil {
		return nil, err
	}
	// Glue's defaults, written out so that comparing with GetJob's answer is exact.
	j.PythonVersion = "3"
	if j.CommandName == "pythonshell" {
		j.PythonVersion = "3.9"
		if err := p.oneOf(cf, path+".command", "pythonVersion", pythonShellVersions, &j.PythonVersion); err != nil {
			return nil, err
		}
	} else if err := p.oneOf(cf, path+".command", "pythonVersion", []string{"3"}, &j.PythonVersion); err != nil {
		return nil, err
	}
	if n := f["defaultArguments"]; n != nil {
		if j.DefaultArguments, err = p.stringMap(n, path+".defaultArguments"); err != nil {
			return nil, err
		}
	}
	if err := p.optInt(f, path, "timeout", 1, glueMaxTimeout, &j.Timeout); err != nil {
		return nil, err
	}
	if err := p.optInt(f, path, "maxRetries", 0, glueMaxRetries, &j.MaxRetries); err != nil {
		return nil, err
	}
	if err := p.optInt(f, path, "maxConcurrentRuns", 1, glueMaxConcurrentRun, &j.MaxConcurrentRuns); err != nil {
		return nil, err
	}
	if err := p.role(f, path, &j.Role); err != nil {
		return nil, err
	}
	if err := p.optStr(f, path, "description", &j.Description); err != nil {
		return nil, err
	}
	return j, nil
}

// s3Bucket is the bucket of an s3://BUCKET/KEY path, and the key.
func s3Bucket(path string) (string, string) {
	b, k, _ := strings.Cut(strings.TrimPrefix(path, "s3://"), "/")
	return b, k
}

// references lists, as warnings, what the glue section names that the project does not
// declare: buckets of S3 paths, crawlers' databases, scripts missing from their bucket's
// folder. Each may exist outside the project (created through the API), so none is an error.
func (proj *Project) references() []*Error {
	buckets := map[string]*Bucket{}
	for _, b := range proj.Buckets {
		buckets[b.Name] = b
	}
	var warns []*Error
	warn := func(line int, key, format string, args ...any) {
		warns = append(warns, &Error{File: proj.File, Line: line, Key: proj.key(key), Msg: fmt.Sprintf(format, args...)})
	}
	checkPath := func(line int, key, path string) {
		if b, _ := s3Bucket(path); buckets[b] == nil {
			warn(line, key, "%s names bucket %s, which the project does not declare under buckets", path, b)
		}
	}
	for _, c := range proj.Glue.Crawlers {
		if !slices.ContainsFunc(proj.Glue.Databases, func(d *GlueDatabase) bool { return d.Name == c.DatabaseName }) {
			warn(c.line, "glue.crawlers."+c.Name+".databaseName", "database %s is not declared under glue.databases", c.DatabaseName)
		}
		for i, t := range c.S3Targets {
			checkPath(c.line, fmt.Sprintf("glue.crawlers.%s.targets.s3Targets[%d].path", c.Name, i), t.Path)
		}
	}
	for _, j := range proj.Glue.Jobs {
		key := "glue.jobs." + j.Name + ".command.scriptLocation"
		checkPath(j.line, key, j.ScriptLocation)
		bn, k := s3Bucket(j.ScriptLocation)
		if b := buckets[bn]; b != nil && b.From != "" {
			if st, err := os.Stat(filepath.Join(b.From, filepath.FromSlash(k))); err != nil || !st.Mode().IsRegular() {
				warn(j.line, key, "%s is not in the folder bucket %s is filled from (%s)", k, bn, b.From)
			}
		}
	}
	return warns
}
