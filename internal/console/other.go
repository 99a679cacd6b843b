package console

import "net/http"

func (c *Console) functions(w http.ResponseWriter, r *http.Request) {
	c.fail(w, http.StatusNotFound, "Functions", "not yet")
}
func (c *Console) function(w http.ResponseWriter, r *http.Request) {
	c.fail(w, http.StatusNotFound, "Functions", "not yet")
}
func (c *Console) catalog(w http.ResponseWriter, r *http.Request) {
	c.fail(w, http.StatusNotFound, "Catalog", "not yet")
}
func (c *Console) table(w http.ResponseWriter, r *http.Request) {
	c.fail(w, http.StatusNotFound, "Catalog", "not yet")
}
