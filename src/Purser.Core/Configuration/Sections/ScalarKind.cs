namespace Purser.Configuration.Sections;

/// <summary>The JSON type a field takes in an admin body; a YAML file's plain scalars are read as any of them.</summary>
internal enum ScalarKind
{
    /// <summary>A JSON string.</summary>
    Text,

    /// <summary>A JSON number (whole numbers: counts, limits, percentages).</summary>
    Number,

    /// <summary>true or false.</summary>
    Bool,

    /// <summary>A decimal amount: a JSON number or a decimal string, as GET writes money ("5.00").</summary>
    Amount,
}
