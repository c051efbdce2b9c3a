package deploy

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Sizes the workflow keeps below Step Functions' limits. A Fail state's
// cause is the Lambda's error document, which the ASL decodes with
// States.StringToJson($.Cause): Step Functions keeps at most 32,768
// characters of a cause, and a cut document is no longer JSON (States.Runtime,
// which no Catch takes). The state document is at most 256 KiB.
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html

// MaxCauseJSON bounds an error message as JSON (quoted and escaped): with
// the errorType and the document's braces it stays under 32,768 characters.
const MaxCauseJSON = 32_000

// MaxReasonRunes bounds a reason a person gives (a manual start, a
// decision): the state carries every one.
const MaxReasonRunes = 1_000

// otherCauseRunes bounds each other service's cause in the cause of a
// target of several services that failed: the first failure's is whole.
const otherCauseRunes = 1_500

// causeCut ends a cause that was cut.
const causeCut = " … [cut to fit Step Functions' 32,768-character cause; every service's full cause is in the execution's output, services[].cause]"

// BoundCause keeps the head of a cause (what failed first, and why) so that
// it fits MaxCauseJSON once JSON-encoded.
func BoundCause(msg string) string {
	if jsonLen(msg) <= MaxCauseJSON {
		return msg
	}
	budget := MaxCauseJSON - (jsonLen(causeCut) - 2) // one pair of quotes for both
	n, size := 0, 2                                  // the quotes
	for i, r := range msg {
		w := jsonLen(string(r)) - 2
		if size+w > budget {
			break
		}
		size += w
		n = i + utf8.RuneLen(r)
	}
	return msg[:n] + causeCut
}

func jsonLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}

// clip cuts s to at most n runes, saying how much it cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return fmt.Sprintf("%s… [%d more characters]", string(r[:n]), len(r)-n)
}
