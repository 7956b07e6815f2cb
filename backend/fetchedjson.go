package backend

import (
	"encoding/json"
	"fmt"
)

// fetchedJSON is Fetched's JSON form (backend/remote carries it): the job,
// its stored payload and, for a payload that did not decode, the reason.
type fetchedJSON struct {
	Job       *Job    `json:"job"`
	Raw       []byte  `json:"raw"`
	Malformed *string `json:"malformed,omitempty"`
}

// MarshalJSON encodes f with its Malformed error as its message.
func (f Fetched) MarshalJSON() ([]byte, error) {
	fj := fetchedJSON{Job: f.Job, Raw: f.Raw}
	if f.Malformed != nil {
		msg := f.Malformed.Error()
		fj.Malformed = &msg
	}
	return json.Marshal(fj)
}

// UnmarshalJSON decodes what MarshalJSON wrote. A Malformed reason comes
// back as an error with its message that wraps ErrMalformedJob, whatever
// error the backend that fetched the job gave: it means "does not decode".
func (f *Fetched) UnmarshalJSON(data []byte) error {
	var fj fetchedJSON
	if err := json.Unmarshal(data, &fj); err != nil {
		return fmt.Errorf("fetched job: %w", err)
	}
	*f = Fetched{Job: fj.Job, Raw: fj.Raw}
	if fj.Malformed != nil {
		f.Malformed = &malformedError{msg: *fj.Malformed}
	}
	return nil
}

// malformedError is a decoded Fetched.Malformed: the original message,
// wrapping ErrMalformedJob.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return e.msg }

func (e *malformedError) Unwrap() error { return ErrMalformedJob }
