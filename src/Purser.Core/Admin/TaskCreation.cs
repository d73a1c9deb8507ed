namespace Purser.Admin;

/// <summary>What <see cref="ITaskScopeStore.TryCreateAsync"/> did.</summary>
public enum TaskCreation
{
    Created = 0,

    /// <summary>A task with that id existed already (created by this or another call); nothing was written.</summary>
    Exists = 1,

    /// <summary>The creating key has its maximum of open tasks; nothing was written.</summary>
    LimitReached = 2,
}
