/* SPDX-License-Identifier: MIT */
/*
 * shared_counter - memory shared between a parent and its child.
 *
 * An anonymous MAP_SHARED int is the same memory in both processes after
 * fork; an ordinary variable is not.  The child changes both and exits; the
 * parent sees the shared int changed and its own variable untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int unshared = 15;
    int *shared;
    int status;
    pid_t child;

    shared = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    *shared = 1;
    printf("before fork: shared %d, unshared %d\n", *shared, unshared);
    fflush(stdout);     /* or the child would print the buffer again */

    child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        *shared = 128;
        unshared = 254;
        printf("child: shared %d, unshared %d\n", *shared, unshared);
        exit(0);
    }
    if (waitpid(child, &status, 0) < 0) {
        perror("waitpid");
        return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child failed (status %#x)\n", (unsigned)status);
        return 1;
    }
    printf("parent: shared %d, unshared %d\n", *shared, unshared);
    if (munmap(shared, sizeof(int)) < 0) {
        perror("munmap");
        return 1;
    }
    return 0;
}
