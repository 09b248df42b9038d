/* cgen_c.c — placeholder, being written */
