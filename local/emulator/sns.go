package emulator

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Amazon SNS: Publish to the stack's topics, recorded so that a test or the
// demo can read what subscribers got. SNS speaks the AWS Query protocol (a
// form POST, an XML answer), which the local stack hands to ServeQuery.
// A topic may be encrypted with a KMS key: the publisher then needs
// kms:GenerateDataKey* and kms:Decrypt on the key besides sns:Publish.
// https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html

var snsOps = map[string]func(*Emulator, json.RawMessage) (any, *apiError){
	"Publish": (*Emulator).publish,
}

// snsTopic is a topic of the account, with the key that encrypts it at rest
// ("" for none).
type snsTopic struct {
	arn    string
	kmsKey string
}

// Publication is one message published to a topic.
type Publication struct {
	TopicARN         string
	Subject          string
	Message          string
	MessageStructure string
	MessageID        string
	At               time.Time
}

// For is the message a subscriber of the protocol (email, https, sqs, …)
// receives: with MessageStructure json, the protocol's own key or "default".
func (p Publication) For(protocol string) string {
	if p.MessageStructure != "json" {
		return p.Message
	}
	var per map[string]any
	_ = json.Unmarshal([]byte(p.Message), &per)
	if s, ok := per[protocol].(string); ok {
		return s
	}
	s, _ := per["default"].(string)
	return s
}

// AddTopic creates a topic, encrypted with kmsKeyARN if not empty.
func (e *Emulator) AddTopic(arn, kmsKeyARN string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.topics[arn] = &snsTopic{arn: arn, kmsKey: kmsKeyARN}
}

// Published returns every message published so far, oldest first.
func (e *Emulator) Published() []Publication {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Publication(nil), e.published...)
}

func (e *Emulator) publish(body json.RawMessage) (any, *apiError) {
	var in struct {
		TopicARN         string `json:"TopicArn"`
		TargetARN        string `json:"TargetArn"`
		Message          string `json:"Message"`
		Subject          string `json:"Subject"`
		MessageStructure string `json:"MessageStructure"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	arn := in.TopicARN
	if arn == "" {
		arn = in.TargetARN
	}
	if e.topics[arn] == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "NotFound", msg: "Topic does not exist"}
	}
	p := Publication{TopicARN: arn, Subject: in.Subject, Message: in.Message, MessageStructure: in.MessageStructure, MessageID: e.uuid(), At: e.now()}
	e.published = append(e.published, p)
	return publishResult{MessageID: p.MessageID}, nil
}

type publishResult struct {
	MessageID string `xml:"MessageId"`
}

// queryOps are the Query-protocol operations the emulator serves, by
// Action, with the service each belongs to.
var queryOps = map[string]string{"Publish": "sns"}

// ServesQuery says whether the emulator serves a Query-protocol Action.
func ServesQuery(action string) bool { return queryOps[action] != "" }

// queryNamespace is each Query service's XML namespace (its model's xmlNamespace).
var queryNamespace = map[string]string{"sns": "http://sns.amazonaws.com/doc/2010-03-31/"}

// ServeQuery serves a Query-protocol call whose form has been read: the
// form's members become the request the model and the prose rules check,
// then IAM, then the handler, as for the JSON services. Only flat members
// are served: a list or map member (MessageAttributes.entry.1.Name) is
// refused rather than ignored.
func (e *Emulator) ServeQuery(w http.ResponseWriter, r *http.Request, form url.Values) {
	op := form.Get("Action")
	service := queryOps[op]
	handler := snsOps[op]
	if handler == nil {
		writeQueryError(w, errorf("InvalidAction", "Could not find operation %s for version %s", op, form.Get("Version")))
		return
	}
	req := map[string]any{}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Action" || k == "Version" {
			continue
		}
		if strings.Contains(k, ".") {
			writeQueryError(w, errorf("InvalidParameter", "Invalid parameter: %s (the ecr-deployer emulator serves no list or map members)", k))
			return
		}
		req[k] = form.Get(k)
	}
	body, _ := json.Marshal(req)
	if code, msg := Validate(service, op, body); code != "" {
		e.record(Call{Operation: op, Request: body, Error: code})
		writeQueryError(w, errorf(code, "%s", msg))
		return
	}
	out, aerr, _, _ := e.serve(service+":"+op, AccessKey(r), handler, body)
	if aerr != nil {
		writeQueryError(w, aerr)
		return
	}
	doc := struct {
		XMLName   xml.Name
		NS        string  `xml:"xmlns,attr"`
		Result    wrapped `xml:"Result"`
		RequestID string  `xml:"ResponseMetadata>RequestId"`
	}{XMLName: xml.Name{Local: op + "Response"}, NS: queryNamespace[service], Result: wrapped{Name: op + "Result", Value: out}, RequestID: e.requestID()}
	w.Header().Set("Content-Type", "text/xml")
	if err := xml.NewEncoder(w).Encode(doc); err != nil {
		fmt.Fprintf(w, "<!-- %v -->", err)
	}
}

// wrapped encodes Value as the element Name (PublishResult, …).
type wrapped struct {
	Name  string
	Value any
}

// MarshalXML writes the response in the SNS Query API's XML shape.
func (v wrapped) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return enc.EncodeElement(v.Value, xml.StartElement{Name: xml.Name{Local: v.Name}})
}

// writeQueryError writes the Query protocol's error document.
func writeQueryError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{Type: "Sender", Code: e.code, Message: e.msg, RequestID: "00000000-0000-0000-0000-000000000000"})
}

// PublishAsService publishes as an AWS service principal does (CloudWatch
// for an alarm action): the topic's and key's resource policies decide,
// which the caller has checked; no identity policy applies.
func (e *Emulator) PublishAsService(topicARN, subject, message string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.topics[topicARN] == nil {
		return fmt.Errorf("topic %s does not exist", topicARN)
	}
	e.published = append(e.published, Publication{TopicARN: topicARN, Subject: subject, Message: message, MessageID: e.uuid(), At: e.now()})
	return nil
}
