/* kinterp.c — placeholder, being written */
