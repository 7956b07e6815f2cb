package remote

import (
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/joblot/joblot/backend"
)

// Every method of backend.Backend (and of the optional interfaces the
// Client forwards) has its route: a method added to the interface but not
// registered would only fail at run time, as an owner lacking the call.
func TestEveryMethodRouted(t *testing.T) {
	r := &router{s: Server{}.withDefaults(), mux: http.NewServeMux(), calls: &sync.RWMutex{}}
	Server{}.routes(r)
	for _, iface := range []reflect.Type{
		reflect.TypeFor[backend.Backend](),
		reflect.TypeFor[backend.Quieter](),
		reflect.TypeFor[backend.MemoryReporter](),
	} {
		for i := range iface.NumMethod() {
			name := iface.Method(i).Name
			if name == "Close" {
				continue // closes the client's connections, not the owner's backend
			}
			req, _ := http.NewRequest(http.MethodPost, "http://joblot/v1/"+name, nil)
			if _, pattern := r.mux.Handler(req); pattern == "" {
				t.Errorf("%s.%s has no route", iface, name)
			}
		}
	}
}
