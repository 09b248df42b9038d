/* elementwise.c — placeholder, being written */
