using System.Runtime.CompilerServices;

// The test program checks the codec, the template and redaction rules and the frame reader
// directly; the benchmark builds its raw frames with the shim's own encoder.
[assembly: InternalsVisibleTo("Tests")]
[assembly: InternalsVisibleTo("Bench")]
