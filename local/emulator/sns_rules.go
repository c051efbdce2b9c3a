package emulator

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// snsRules are the SNS API reference's prose constraints on Publish (quoted
// from the SDK's doc comments; aws-sdk-go-v2 service/sns v1.48.0). The model
// carries none but Message being required. Where AWS's exact message is not
// documented, the text says which member is wrong, in SNS's "Invalid
// parameter: …" form.
var snsRules = map[string][]rule{
	"Publish": {
		{Cite: `PublishInput.TopicArn: "If you don't specify a value for the TopicArn parameter, you must specify a value for the PhoneNumber or TargetArn parameters." (one destination: the stricter reading of several)`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				n := 0
				for _, k := range []string{"TopicArn", "TargetArn", "PhoneNumber"} {
					if r.has(k) {
						n++
					}
				}
				switch {
				case n == 0:
					return "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
				case n > 1:
					return "Invalid parameter: TopicArn, TargetArn and PhoneNumber: only one of them may be given"
				}
				return ""
			}},
		{Cite: `PublishInput.Message: "By default, a message can be at most 256 KiB in size (262,144 bytes, not 262,144 characters)."`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				m := r.str("Message")
				switch {
				case m == "":
					return "Invalid parameter: Empty message"
				case len(m) > 262144:
					return "Invalid parameter: Message too long"
				case !utf8.ValidString(m):
					return "Invalid parameter: Message must be UTF-8 encoded"
				}
				return ""
			}},
		{Cite: `PublishInput.MessageStructure: "Valid value: json"`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				if _, ok := r["MessageStructure"]; ok && r.str("MessageStructure") != "json" {
					return "Invalid parameter: MessageStructure"
				}
				return ""
			}},
		{Cite: `PublishInput.MessageStructure: "If you set MessageStructure to json, the value of the Message parameter must: be a syntactically valid JSON object; and contain at least a top-level JSON key of "default" with a value that is a string." PublishInput.Message: "Duplicate keys are not allowed."`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				if r.str("MessageStructure") != "json" {
					return ""
				}
				return checkStructuredMessage(r.str("Message"))
			}},
		{Cite: `PublishInput.Subject: "Constraints: Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				s, ok := r["Subject"].(string)
				if !ok {
					return ""
				}
				if s == "" || utf8.RuneCountInString(s) >= 100 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
					return "Invalid parameter: Subject"
				}
				return ""
			}},
		{Cite: `PublishInput.MessageDeduplicationId: "This parameter applies only to FIFO (first-in-first-out) topics."`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				if r.has("MessageDeduplicationId") && !strings.HasSuffix(r.str("TopicArn"), ".fifo") {
					return "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type"
				}
				return ""
			}},
		{Cite: `PublishInput.MessageGroupId: "The MessageGroupId can contain up to 128 alphanumeric characters (a-z, A-Z, 0-9) and punctuation" … "For standard topics: … When provided, the same validation rules apply as for FIFO topics."`,
			Code: "InvalidParameter",
			Check: func(r request) string {
				if g, ok := r["MessageGroupId"].(string); ok && !messageGroupID.MatchString(g) {
					return "Invalid parameter: MessageGroupId"
				}
				return ""
			}},
	},
}

var messageGroupID = regexp.MustCompile("^[a-zA-Z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")

// checkStructuredMessage checks a MessageStructure json message: one JSON
// object, no key twice, a string "default".
func checkStructuredMessage(m string) string {
	dec := json.NewDecoder(bytes.NewReader([]byte(m)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "Invalid parameter: Message Structure - JSON message body failed to parse"
	}
	seen := map[string]bool{}
	hasDefault := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "Invalid parameter: Message Structure - JSON message body failed to parse"
		}
		key, _ := tok.(string)
		if seen[key] {
			return "Invalid parameter: Message Structure - Duplicate key " + key
		}
		seen[key] = true
		var v any
		if err := dec.Decode(&v); err != nil {
			return "Invalid parameter: Message Structure - JSON message body failed to parse"
		}
		if _, isString := v.(string); key == "default" && isString {
			hasDefault = true
		}
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		return "Invalid parameter: Message Structure - JSON message body failed to parse"
	}
	if !hasDefault {
		return "Invalid parameter: Message Structure - No default entry in JSON message body"
	}
	return ""
}
