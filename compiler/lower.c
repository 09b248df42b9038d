/* lower.c — placeholder, being written */
