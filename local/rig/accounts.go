package rig

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecr-deployer/ecr-deployer/local/emulator"
	"github.com/ecr-deployer/ecr-deployer/local/iam"
)

// Other AWS accounts and Regions (issue 27, docs/multi-account.md): each
// account's resources live in an emulator of their own per Region, each
// access key belongs to an account, and STS AssumeRole hands out session
// keys of a role in another account only if the caller's identity policy
// and the role's trust policy both allow it, evaluated by local/iam as
// every other policy here. A request is served by the emulator of its
// key's account and of the Region it is signed for.

// accounts are the local stack's accounts besides its own resources.
type accounts struct {
	mu sync.Mutex
	// emulators by account ID and Region.
	emulators map[string]map[string]*emulator.Emulator
	// roles by ARN.
	roles map[string]*role
	// sessions by access key ID.
	sessions map[string]*session
}

// role is an IAM role of an account: its trust policy (who may assume
// it), its permissions and its MaxSessionDuration.
type role struct {
	arn         string
	trust       *iam.Policy
	permissions *iam.Policy
	maxSession  time.Duration
}

// session is a role's temporary credentials.
type session struct {
	role    *role
	arn     string // arn:aws:sts::<account>:assumed-role/<role>/<session>
	secret  string
	expires time.Time
}

func (s *Stack) others() *accounts {
	s.accountsOnce.Do(func() {
		s.accounts = &accounts{emulators: map[string]map[string]*emulator.Emulator{}, roles: map[string]*role{}, sessions: map[string]*session{}}
	})
	return s.accounts
}

// AddAccount returns the emulator of an account in a Region, made empty on
// first use: seed it with its API (CreateService, PushImage, …). The local
// stack's own account and Region is s.Emulator.
func (s *Stack) AddAccount(id, region string) *emulator.Emulator {
	if id == emulator.Account && region == emulator.Region {
		return s.Emulator
	}
	a := s.others()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.emulators[id] == nil {
		a.emulators[id] = map[string]*emulator.Emulator{}
	}
	e := a.emulators[id][region]
	if e == nil {
		e = emulator.New(id, region)
		e.SetAuthorizer(s.authorizeIn(id))
		a.emulators[id][region] = e
	}
	return e
}

// AddRole makes a role in an account from its trust policy and its
// permissions policy (JSON documents, as IAM stores them); maxSession 0 is
// IAM's default MaxSessionDuration, one hour. It returns the role's ARN.
func (s *Stack) AddRole(account, name string, trust, permissions []byte, maxSession time.Duration) (string, error) {
	arn := fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)
	t, err := iam.ParseTrustPolicy(arn+" trust", trust)
	if err != nil {
		return "", err
	}
	p, err := iam.ParsePolicy(arn, permissions)
	if err != nil {
		return "", err
	}
	return s.putRole(account, name, t, p, maxSession), nil
}

// putRole makes a role of an account from its parsed policies (maxSession
// 0: IAM's default, one hour) and returns its ARN.
func (s *Stack) putRole(account, name string, trust, permissions *iam.Policy, maxSession time.Duration) string {
	arn := fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)
	if maxSession == 0 {
		maxSession = time.Hour
	}
	a := s.others()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roles[arn] = &role{arn: arn, trust: trust, permissions: permissions, maxSession: maxSession}
	return arn
}

// sessionOf is the live session of an access key, if it is one.
func (s *Stack) sessionOf(key string) (*session, bool) {
	if s.accounts == nil || !strings.HasPrefix(key, "ASIA") {
		return nil, false
	}
	a := s.accounts
	a.mu.Lock()
	defer a.mu.Unlock()
	ses, ok := a.sessions[key]
	return ses, ok
}

// accountOf is the account an ARN names.
func accountOf(arn string) string {
	if p := strings.SplitN(arn, ":", 6); len(p) == 6 {
		return p[4]
	}
	return ""
}

var scopeRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/`)

// serveJSON serves a JSON-protocol request (ECS, ECR, Logs, DynamoDB) by
// the emulator of its account and Region; a session past its expiration
// is refused as AWS refuses it.
func (s *Stack) serveJSON(w http.ResponseWriter, r *http.Request) {
	if ses, ok := s.sessionOf(emulator.AccessKey(r)); ok && time.Now().After(ses.expires) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}`))
		return
	}
	s.emulatorFor(r).ServeHTTP(w, r)
}

// emulatorFor is the emulator a JSON-protocol request is served by: its
// key's account's, in the Region it is signed for. The local stack's own
// keys in its own Region (every call before issue 27) keep s.Emulator.
func (s *Stack) emulatorFor(r *http.Request) *emulator.Emulator {
	account, region := emulator.Account, emulator.Region
	if ses, ok := s.sessionOf(emulator.AccessKey(r)); ok {
		account = accountOf(ses.role.arn)
	}
	if m := scopeRegion.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region = m[1]
	}
	return s.AddAccount(account, region)
}

// authorizeIn is the IAM of another account's emulator: a session's role
// policy decides; the local stack's own keys are another account's
// principals there, with no identity policy of that account: denied.
func (s *Stack) authorizeIn(account string) emulator.Authorizer {
	return func(key string, reqs []iam.Request) error {
		ses, ok := s.sessionOf(key)
		if !ok || accountOf(ses.role.arn) != account {
			if account == emulator.Account {
				return s.guard.authorize(key, reqs)
			}
			return awsMessage(fmt.Sprintf("User: %s is not authorized to perform: %s in account %s (no identity-based policy of that account applies to it)", s.callerARN(key), reqs[0].Action, account))
		}
		for _, r := range reqs {
			if d := ses.role.permissions.Evaluate(r); !d.Allowed {
				return awsMessage(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because %s", ses.arn, r.Action, r.Resource, d.Reason))
			}
		}
		return nil
	}
}

// awsMessage is an error whose text is AWS's message, capital and all.
func awsMessage(msg string) error { return fmt.Errorf("%s", msg) }

// callerARN is who AWS authenticates a key as.
func (s *Stack) callerARN(key string) string {
	if ses, ok := s.sessionOf(key); ok {
		return ses.arn
	}
	return s.guard.identity(key)
}

// AssumeRole's documented constraints (AssumeRoleInput).
var (
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalID  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // and 2-1224 characters
)

// assumeRole serves STS AssumeRole. The caller's identity policy must
// allow sts:AssumeRole on the role and the role's trust policy must allow
// the caller (both, always: the stricter reading for a same-account caller,
// which a trust policy naming it would admit alone); a role that does not
// exist is refused as one that does not trust the caller, as STS does.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
func (s *Stack) assumeRole(w http.ResponseWriter, r *http.Request, form url.Values) {
	roleARN, name, ext := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("ExternalId")
	duration := time.Hour
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			queryError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
			return
		}
		duration = time.Duration(n) * time.Second
	}
	switch {
	case len(roleARN) < 20 || len(roleARN) > 2048:
		queryError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048")
		return
	case !sessionName.MatchString(name):
		queryError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64")
		return
	case form.Has("ExternalId") && (len(ext) < 2 || len(ext) > 1224 || !externalID.MatchString(ext)):
		queryError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and have length between 2 and 1224")
		return
	}
	key := emulator.AccessKey(r)
	caller := s.callerARN(key)
	ro, err := s.mayAssume(key, caller, roleARN, ext)
	if err != nil {
		queryError(w, http.StatusForbidden, "AccessDenied", err.Error())
		return
	}
	if duration > ro.maxSession {
		queryError(w, http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		return
	}
	key, ses := s.newSession(ro, name, duration)
	writeAssumed(w, key, ses)
}

// mayAssume decides an AssumeRole: the caller's identity policy, then the
// role's trust policy for each form the caller is named by (its ARN, its
// account's root, its account), with the request's condition keys.
func (s *Stack) mayAssume(key, caller, roleARN, ext string) (*role, error) {
	denied := awsMessage(fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, roleARN))
	req := iam.Request{Action: "sts:AssumeRole", Resource: roleARN}
	if ses, ok := s.sessionOf(key); ok {
		if !ses.role.permissions.Evaluate(req).Allowed {
			return nil, denied
		}
	} else if err := s.guard.authorize(key, []iam.Request{req}); err != nil {
		return nil, denied
	}
	a := s.others()
	a.mu.Lock()
	ro := a.roles[roleARN]
	a.mu.Unlock()
	if ro == nil {
		return nil, denied
	}
	account := accountOf(caller)
	principalARN := caller
	if ses, ok := s.sessionOf(key); ok {
		principalARN = ses.role.arn // aws:PrincipalArn of a role session is the role's ARN
	} else if arn := s.guard.roleARN(key); arn != "" {
		principalARN = arn // a function's key is a session of its role
	}
	req.Context = map[string]string{"aws:PrincipalArn": principalARN, "aws:PrincipalAccount": account}
	if ext != "" {
		req.Context["sts:ExternalId"] = ext
	}
	allowed := false
	for _, p := range []string{"aws:" + caller, "aws:" + principalARN, "aws:arn:aws:iam::" + account + ":root", "aws:" + account} {
		d := ro.trust.EvaluateFor(p, req)
		if strings.HasPrefix(d.Reason, "explicitly denied") {
			return nil, denied
		}
		allowed = allowed || d.Allowed
	}
	if !allowed {
		return nil, denied
	}
	return ro, nil
}

// newSession records a session's temporary credentials.
func (s *Stack) newSession(ro *role, name string, duration time.Duration) (string, *session) {
	key := "ASIA" + strings.ToUpper(randomHex(8))
	ses := &session{role: ro, arn: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", accountOf(ro.arn), ro.arn[strings.LastIndex(ro.arn, "/")+1:], name),
		secret: randomHex(20), expires: time.Now().Add(duration)}
	a := s.others()
	a.mu.Lock()
	a.sessions[key] = ses
	a.mu.Unlock()
	return key, ses
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeAssumed(w http.ResponseWriter, key string, ses *session) {
	var resp struct {
		XMLName xml.Name `xml:"AssumeRoleResponse"`
		NS      string   `xml:"xmlns,attr"`
		Result  struct {
			AccessKeyID   string `xml:"Credentials>AccessKeyId"`
			Secret        string `xml:"Credentials>SecretAccessKey"`
			Token         string `xml:"Credentials>SessionToken"`
			Expiration    string `xml:"Credentials>Expiration"`
			ARN           string `xml:"AssumedRoleUser>Arn"`
			AssumedRoleID string `xml:"AssumedRoleUser>AssumedRoleId"`
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	resp.NS, resp.RequestID = "https://sts.amazonaws.com/doc/2011-06-15/", "00000000-0000-0000-0000-000000000000"
	resp.Result.AccessKeyID, resp.Result.Secret, resp.Result.Token = key, ses.secret, "local-session-"+key
	resp.Result.Expiration = ses.expires.UTC().Format(time.RFC3339)
	resp.Result.ARN = ses.arn
	resp.Result.AssumedRoleID = "AROA" + strings.ToUpper(key[4:]) + ":" + ses.arn[strings.LastIndex(ses.arn, "/")+1:]
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}
