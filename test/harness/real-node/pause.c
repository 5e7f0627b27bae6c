/* The pod sandbox's process for the real-node suite (containerd's
 * sandbox_image): holds the pod's namespaces open until told to stop, and
 * reaps the zombies it inherits as the pod's init. Static, so the image is
 * this one file FROM scratch. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {.sa_handler = stop};
  struct sigaction chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGCHLD, &chld, NULL);
  for (;;) pause();
}
