namespace Purser.Ensembles;

/// <summary>One panel call: a model or routing alias, with the sampling settings that make its answer differ from the others'.</summary>
public sealed record PanelMember(string Model, double? Temperature = null, long? Seed = null);
